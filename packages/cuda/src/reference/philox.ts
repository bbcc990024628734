/**
 * The dropout generator of common.cuh on the host: Philox4x32-10 (Random123) and the keep test
 * of element `index` at (seed, site, counter). The GPU check compares the device's masks to it.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

function mulhilo(a: number, b: number): [number, number] {
  const product = BigInt(a) * BigInt(b);
  return [Number(product >> 32n) >>> 0, Number(product & 0xffffffffn) >>> 0];
}

/** Philox4x32 with 10 rounds: four 32-bit counter words, two key words -> four random words. */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((w) => w >>> 0) as [number, number, number, number];
  let [k0, k1] = key.map((w) => w >>> 0) as [number, number];
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

/** common.cuh's dropoutKeep: whether element `index` survives dropout with rate `p`. */
export function dropoutKeep(
  seed: number,
  site: number,
  counter: number,
  index: number,
  p: number,
): boolean {
  const group = Math.floor(index / 4);
  const words = philox4x32(
    [
      group >>> 0,
      Math.floor(group / 2 ** 32) >>> 0,
      counter >>> 0,
      Math.floor(counter / 2 ** 32) >>> 0,
    ],
    [seed, site],
  );
  const uniform = (words[index % 4]! >>> 8) / 16777216;
  // float32 compare as on the device: p rounded to float32.
  return uniform >= Math.fround(p);
}
