/** A JSON-serialisable value (collective payloads, checkpoint state, reports). */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };
