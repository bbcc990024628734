/**
 * A small strict XML well-formedness check for the SVG/HTML fragments the trainer writes (no
 * XML parser is among the dependencies): matched and nested tags, quoted attributes, no raw
 * `<` or bare `&` in text. Returns the root element's name; throws describing the first fault.
 */
export function assertWellFormedXml(xml: string): string {
  const stack: string[] = [];
  let root: string | undefined;
  let i = 0;
  const checkText = (text: string, at: number): void => {
    const bad = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(text);
    if (bad) throw new Error(`bare & at offset ${at + bad.index}`);
  };
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) {
      checkText(xml.slice(i), i);
      break;
    }
    checkText(xml.slice(i, lt), i);
    if (xml.startsWith('<?', lt)) {
      i = xml.indexOf('?>', lt) + 2;
      continue;
    }
    if (xml.startsWith('<!--', lt)) {
      i = xml.indexOf('-->', lt) + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new Error(`unterminated tag at offset ${lt}`);
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}> at offset ${lt}`);
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const match = /^([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<]*")*)\s*$/.exec(body);
      if (!match) throw new Error(`malformed tag <${tag}> at offset ${lt}`);
      checkText(match[2], lt);
      if (stack.length === 0) {
        if (root !== undefined) throw new Error(`second root element <${match[1]}>`);
        root = match[1];
      }
      if (!selfClosing) stack.push(match[1]);
    }
    i = gt + 1;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (root === undefined) throw new Error('no root element');
  return root;
}
