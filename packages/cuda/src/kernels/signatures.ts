/**
 * Kernel parameter lists read from the CUDA sources themselves, so the host packs arguments the
 * way each kernel declares them and the two can never drift apart.
 */

/** How one kernel parameter is passed: a device pointer or a scalar of a given width. */
export type ArgKind = 'ptr' | 'i32' | 'u32' | 'f32' | 'i64' | 'u64';

const SCALARS: Readonly<Record<string, ArgKind>> = {
  int: 'i32',
  'unsigned int': 'u32',
  float: 'f32',
  'long long': 'i64',
  'unsigned long long': 'u64',
};

/** Every `extern "C" __global__ void name(...)` in `source` with its parameter kinds. */
export function parseKernelSignatures(source: string, file: string): Map<string, ArgKind[]> {
  const signatures = new Map<string, ArgKind[]>();
  const pattern = /extern "C" __global__ void (\w+)\(([^)]*)\)/g;
  for (const match of source.matchAll(pattern)) {
    const kinds = match[2]!.split(',').map((parameter) => {
      const text = parameter.replace(/\s+/g, ' ').trim();
      if (text.includes('*')) return 'ptr' as const;
      const type = text.replace(/^const /, '').replace(/ \w+$/, '');
      const kind = SCALARS[type];
      if (!kind) throw new Error(`${file}: kernel ${match[1]}: unsupported parameter "${text}"`);
      return kind;
    });
    signatures.set(match[1]!, kinds);
  }
  return signatures;
}
