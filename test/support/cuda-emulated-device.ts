/**
 * A CPU emulation of what the engine runs on, for testing its orchestration without a GPU: device
 * memory is one Float64Array of 4-byte slots (so fp32 buffers hold float64 values and finite
 * differences are exact enough), cuBLASLt's column-major GEMM is done literally (op, ld, batch
 * strides, bias), and each kernel is re-implemented in JS from its .cu file's semantics. Only fp32
 * (xBytes 4) is emulated.
 */
import {
  HIDDEN_ACTS,
  type DevicePtr,
  type EngineDevice,
  type KernelArg,
  type KernelName,
  type MatmulShape,
} from '@ner-launch/cuda';
import { activate, activateGrad, dropoutKeep } from '@ner-launch/cuda/reference';

const BASE = 0x10000n;

/** Emulated device memory. */
export class EmulatedMemory {
  heap = new Float64Array(1 << 20);
  private next = 0;

  slot(ptr: KernelArg): number {
    return Number((BigInt(ptr) - BASE) / 4n);
  }

  alloc(bytes: number): DevicePtr {
    const slots = Math.ceil(Math.max(bytes, 256) / 256) * 64;
    if (this.next + slots > this.heap.length) {
      const bigger = new Float64Array(Math.max(this.heap.length * 2, this.next + slots));
      bigger.set(this.heap);
      this.heap = bigger;
    }
    const ptr = BASE + BigInt(this.next * 4);
    this.heap.fill(NaN, this.next, this.next + slots); // uninitialised, as cuMemAlloc
    this.next += slots;
    return ptr;
  }

  free(): void {}
  synchronize(): void {}
  destroyStream(): void {}
  releasePrimaryContext(): void {}

  upload(dst: DevicePtr, src: ArrayBufferView): void {
    const values = src as Float32Array | Int32Array;
    this.heap.set(values, this.slot(dst));
  }

  download(dst: ArrayBufferView, src: DevicePtr): void {
    const out = dst as Float32Array | Int32Array;
    out.set(this.heap.subarray(this.slot(src), this.slot(src) + out.length));
  }

  fill32(dst: DevicePtr, value: number, count: number): void {
    this.heap.fill(value, this.slot(dst), this.slot(dst) + count);
  }
}

/** cuBLASLt's matmul, literally: D = alpha op(A) op(B) + beta D (+ bias), column-major. */
function matmul(
  mem: EmulatedMemory,
  s: MatmulShape,
  a: DevicePtr,
  b: DevicePtr,
  d: DevicePtr,
  alpha: number,
  beta: number,
  bias?: DevicePtr,
): void {
  const h = mem.heap;
  for (let batch = 0; batch < (s.batch?.count ?? 1); batch++) {
    const A = mem.slot(a) + batch * (s.batch?.strideA ?? 0);
    const B = mem.slot(b) + batch * (s.batch?.strideB ?? 0);
    const D = mem.slot(d) + batch * (s.batch?.strideC ?? 0);
    for (let i = 0; i < s.m; i++)
      for (let j = 0; j < s.n; j++) {
        let sum = 0;
        for (let p = 0; p < s.k; p++) {
          const av = s.transA ? h[A + p + i * s.lda]! : h[A + i + p * s.lda]!;
          const bv = s.transB ? h[B + j + p * s.ldb]! : h[B + p + j * s.ldb]!;
          sum += av * bv;
        }
        const at = D + i + j * s.ldc;
        h[at] =
          alpha * sum + (beta === 0 ? 0 : beta * h[at]!) + (s.bias ? h[mem.slot(bias!) + i]! : 0);
      }
  }
}

type Kernel = (mem: EmulatedMemory, args: readonly KernelArg[], rowsPerBlockGrid: number) => void;

const n = (v: KernelArg) => Number(v);

function layerNormRow(
  h: Float64Array,
  x: number,
  H: number,
): { mean: number; rstd: number; eps?: number } {
  let s = 0;
  for (let j = 0; j < H; j++) s += h[x + j]!;
  const mean = s / H;
  let v = 0;
  for (let j = 0; j < H; j++) v += (h[x + j]! - mean) ** 2;
  return { mean, rstd: v / H };
}

function lnBackwardRow(
  h: Float64Array,
  dy: number,
  x: number,
  m: number,
  r: number,
  gamma: number,
  H: number,
  dgamma: number,
  dbeta: number,
  emit: (j: number, g: number) => void,
): void {
  let s1 = 0;
  let s2 = 0;
  for (let j = 0; j < H; j++) {
    const g = h[dy + j]! * h[gamma + j]!;
    s1 += g;
    s2 += g * (h[x + j]! - m) * r;
  }
  for (let j = 0; j < H; j++) {
    const xhat = (h[x + j]! - m) * r;
    emit(j, r * (h[dy + j]! * h[gamma + j]! - s1 / H - (xhat * s2) / H));
    h[dgamma + j]! += h[dy + j]! * xhat;
    h[dbeta + j]! += h[dy + j]!;
  }
}

const keep = (p: number, seed: KernelArg, site: KernelArg, counter: KernelArg, i: number) =>
  p === 0 || dropoutKeep(n(seed), n(site), n(counter), i, p);

const KERNELS: Partial<Record<KernelName, Kernel>> = {
  embeddings_forward(mem, a) {
    const h = mem.heap;
    const [out, pre, mean, rstd, ids, types, wte, wpe, wtt, gamma, beta] = a
      .slice(0, 11)
      .map((p) => mem.slot(p));
    const [N, T, H, eps, p, seed, site, counter] = [
      n(a[11]!),
      n(a[12]!),
      n(a[13]!),
      n(a[14]!),
      n(a[15]!),
      a[16]!,
      a[17]!,
      a[18]!,
    ];
    for (let row = 0; row < N; row++) {
      const type = n(a[5]!) === 0 ? 0 : h[types! + row]!;
      for (let j = 0; j < H; j++)
        h[pre! + row * H + j] =
          h[wte! + h[ids! + row]! * H + j]! +
          h[wpe! + (row % T) * H + j]! +
          h[wtt! + type * H + j]!;
      const st = layerNormRow(h, pre! + row * H, H);
      const r = 1 / Math.sqrt(st.rstd + eps);
      h[mean! + row] = st.mean;
      h[rstd! + row] = r;
      for (let j = 0; j < H; j++) {
        const i = row * H + j;
        const y = (h[pre! + i]! - st.mean) * r * h[gamma! + j]! + h[beta! + j]!;
        h[out! + i] = keep(p, seed, site, counter, i) ? y / (1 - p) : 0;
      }
    }
  },
  embeddings_backward(mem, a) {
    const h = mem.heap;
    const [dwte, dwpe, dwtt, dgamma, dbeta, dout, pre, mean, rstd, ids, types, gamma] = a
      .slice(0, 12)
      .map((p) => mem.slot(p));
    const [N, T, H, , , p, seed, site, counter] = a
      .slice(12)
      .map((v, i) => (i >= 6 ? v : n(v))) as number[];
    for (let row = 0; row < N!; row++) {
      for (let j = 0; j < H!; j++) {
        const i = row * H! + j;
        h[dout! + i] = keep(p!, seed!, site!, counter!, i) ? h[dout! + i]! / (1 - p!) : 0;
      }
      const type = n(a[10]!) === 0 ? 0 : h[types! + row]!;
      const word = h[ids! + row]!;
      lnBackwardRow(
        h,
        dout! + row * H!,
        pre! + row * H!,
        h[mean! + row]!,
        h[rstd! + row]!,
        gamma!,
        H!,
        dgamma!,
        dbeta!,
        (j, g) => {
          h[dwte! + word * H! + j]! += g;
          h[dwpe! + (row % T!) * H! + j]! += g;
          h[dwtt! + type * H! + j]! += g;
        },
      );
    }
  },
  residual_layernorm_forward(mem, a) {
    const h = mem.heap;
    const [out, pre, mean, rstd, x, res, gamma, beta] = a.slice(0, 8).map((p) => mem.slot(p));
    const [N, H, eps, p] = [n(a[8]!), n(a[9]!), n(a[10]!), n(a[11]!)];
    for (let row = 0; row < N; row++) {
      for (let j = 0; j < H; j++) {
        const i = row * H + j;
        h[pre! + i] =
          (keep(p, a[12]!, a[13]!, a[14]!, i) ? h[x! + i]! / (1 - p) : 0) + h[res! + i]!;
      }
      const st = layerNormRow(h, pre! + row * H, H);
      const r = 1 / Math.sqrt(st.rstd + eps);
      h[mean! + row] = st.mean;
      h[rstd! + row] = r;
      for (let j = 0; j < H; j++)
        h[out! + row * H + j] =
          (h[pre! + row * H + j]! - st.mean) * r * h[gamma! + j]! + h[beta! + j]!;
    }
  },
  residual_layernorm_backward(mem, a) {
    const h = mem.heap;
    const [dx, da, dgamma, dbeta, dy, pre, mean, rstd, gamma] = a
      .slice(0, 9)
      .map((p) => mem.slot(p));
    const [N, H, , p] = [n(a[9]!), n(a[10]!), n(a[11]!), n(a[12]!)];
    for (let row = 0; row < N; row++)
      lnBackwardRow(
        h,
        dy! + row * H,
        pre! + row * H,
        h[mean! + row]!,
        h[rstd! + row]!,
        gamma!,
        H,
        dgamma!,
        dbeta!,
        (j, g) => {
          const i = row * H + j;
          h[dx! + i] = g;
          h[da! + i] = keep(p, a[13]!, a[14]!, a[15]!, i) ? g / (1 - p) : 0;
        },
      );
  },
  activation_forward(mem, a) {
    const [out, pre] = [mem.slot(a[0]!), mem.slot(a[1]!)];
    for (let i = 0; i < n(a[2]!); i++)
      mem.heap[out + i] = activate(mem.heap[pre + i]!, HIDDEN_ACTS[n(a[3]!)]!);
  },
  activation_backward(mem, a) {
    const [dpre, dout, pre] = [mem.slot(a[0]!), mem.slot(a[1]!), mem.slot(a[2]!)];
    for (let i = 0; i < n(a[3]!); i++)
      mem.heap[dpre + i] =
        mem.heap[dout + i]! * activateGrad(mem.heap[pre + i]!, HIDDEN_ACTS[n(a[4]!)]!);
  },
  bias_backward(mem, a) {
    const [db, dy] = [mem.slot(a[0]!), mem.slot(a[1]!)];
    const [N, C] = [n(a[2]!), n(a[3]!)];
    for (let c = 0; c < C; c++)
      for (let r = 0; r < N; r++) mem.heap[db + c]! += mem.heap[dy + r * C + c]!;
  },
  attention_split_heads(mem, a) {
    const [heads, qkv] = [mem.slot(a[0]!), mem.slot(a[1]!)];
    const [B, T, nh, d] = a.slice(2).map(n) as [number, number, number, number];
    for (let w = 0; w < 3; w++)
      for (let b = 0; b < B; b++)
        for (let hh = 0; hh < nh; hh++)
          for (let t = 0; t < T; t++)
            for (let e = 0; e < d; e++)
              mem.heap[heads + (((w * B + b) * nh + hh) * T + t) * d + e] =
                mem.heap[qkv + ((b * T + t) * 3 + w) * nh * d + hh * d + e]!;
  },
  attention_merge_qkv_grad(mem, a) {
    const [dqkv, dheads] = [mem.slot(a[0]!), mem.slot(a[1]!)];
    const [B, T, nh, d] = a.slice(2).map(n) as [number, number, number, number];
    for (let w = 0; w < 3; w++)
      for (let b = 0; b < B; b++)
        for (let hh = 0; hh < nh; hh++)
          for (let t = 0; t < T; t++)
            for (let e = 0; e < d; e++)
              mem.heap[dqkv + ((b * T + t) * 3 + w) * nh * d + hh * d + e] =
                mem.heap[dheads + (((w * B + b) * nh + hh) * T + t) * d + e]!;
  },
  attention_permute_context(mem, a) {
    const [out, inp] = [mem.slot(a[0]!), mem.slot(a[1]!)];
    const [B, T, nh, d, toHeads] = a.slice(2).map(n) as [number, number, number, number, number];
    for (let b = 0; b < B; b++)
      for (let hh = 0; hh < nh; hh++)
        for (let t = 0; t < T; t++)
          for (let e = 0; e < d; e++) {
            const heads = ((b * nh + hh) * T + t) * d + e;
            const merged = (b * T + t) * nh * d + hh * d + e;
            if (toHeads) mem.heap[out + heads] = mem.heap[inp + merged]!;
            else mem.heap[out + merged] = mem.heap[inp + heads]!;
          }
  },
  attention_softmax_forward(mem, a) {
    const h = mem.heap;
    const [probs, dropped, scores, mask] = a.slice(0, 4).map((p) => mem.slot(p));
    const [B, nh, T, p] = [n(a[4]!), n(a[5]!), n(a[6]!), n(a[7]!)];
    for (let row = 0; row < B * nh * T; row++) {
      const b = Math.floor(row / (nh * T));
      const base = row * T;
      let m = -Infinity;
      for (let j = 0; j < T; j++) if (h[mask! + b * T + j]) m = Math.max(m, h[scores! + base + j]!);
      let s = 0;
      for (let j = 0; j < T; j++)
        if (h[mask! + b * T + j]) s += Math.exp(h[scores! + base + j]! - m);
      for (let j = 0; j < T; j++) {
        const prob = h[mask! + b * T + j] ? Math.exp(h[scores! + base + j]! - m) / s : 0;
        h[probs! + base + j] = prob;
        if (p > 0)
          h[dropped! + base + j] = keep(p, a[8]!, a[9]!, a[10]!, base + j) ? prob / (1 - p) : 0;
      }
    }
  },
  attention_softmax_backward(mem, a) {
    const h = mem.heap;
    const [ds, dd, probs] = a.slice(0, 3).map((p) => mem.slot(p));
    const [rows, T, p] = [n(a[3]!), n(a[4]!), n(a[5]!)];
    for (let row = 0; row < rows; row++) {
      const base = row * T;
      const g = Array.from({ length: T }, (_, j) =>
        keep(p, a[6]!, a[7]!, a[8]!, base + j) ? h[dd! + base + j]! / (1 - p) : 0,
      );
      let s = 0;
      for (let j = 0; j < T; j++) s += g[j]! * h[probs! + base + j]!;
      for (let j = 0; j < T; j++) h[ds! + base + j] = h[probs! + base + j]! * (g[j]! - s);
    }
  },
  cross_entropy_forward_backward(mem, a) {
    const h = mem.heap;
    const [N, L, scale] = [n(a[5]!), n(a[6]!), n(a[7]!)];
    const [loss, dl, preds, logits, labels] = a
      .slice(0, 5)
      .map((p) => (n(p) === 0 ? -1 : mem.slot(p)));
    for (let row = 0; row < N; row++) {
      let m = -Infinity;
      let best = 0;
      for (let c = 0; c < L; c++)
        if (h[logits! + row * L + c]! > m) [m, best] = [h[logits! + row * L + c]!, c];
      let s = 0;
      for (let c = 0; c < L; c++) s += Math.exp(h[logits! + row * L + c]! - m);
      const logSum = m + Math.log(s);
      const label = h[labels! + row]!;
      h[loss! + row] = label === -100 ? 0 : logSum - h[logits! + row * L + label]!;
      if (preds! >= 0) h[preds! + row] = best;
      if (dl! >= 0)
        for (let c = 0; c < L; c++)
          h[dl! + row * L + c] =
            label === -100
              ? 0
              : (Math.exp(h[logits! + row * L + c]! - logSum) - (c === label ? 1 : 0)) * scale;
    }
  },
  dropout_apply(mem, a) {
    const [out, inp] = [mem.slot(a[0]!), mem.slot(a[1]!)];
    const p = n(a[3]!);
    for (let i = 0; i < n(a[2]!); i++)
      mem.heap[out + i] = keep(p, a[4]!, a[5]!, a[6]!, i) ? mem.heap[inp + i]! / (1 - p) : 0;
  },
  global_norm_squares(mem, a) {
    const [sums, g] = [mem.slot(a[0]!), mem.slot(a[1]!)];
    let s = 0;
    for (let i = 0; i < n(a[2]!); i++) s += mem.heap[g + i]! ** 2;
    mem.heap.fill(0, sums, sums + 512);
    mem.heap[sums] = s;
  },
  scale_and_check(mem, a) {
    const g = mem.slot(a[0]!);
    for (let i = 0; i < n(a[1]!); i++) {
      mem.heap[g + i] = mem.heap[g + i]! * n(a[2]!);
      if (!Number.isFinite(mem.heap[g + i]!)) mem.heap[mem.slot(a[3]!)] = 1;
    }
  },
  adamw_update(mem, a) {
    const [params, , grads, m, v] = a.slice(0, 5).map((p) => (n(p) === 0 ? -1 : mem.slot(p)));
    const [count, lr, wd, b1, b2, eps, stepSize, c2] = a.slice(5).map(n) as number[];
    const h = mem.heap;
    for (let i = 0; i < count!; i++) {
      const g = h[grads! + i]!;
      const p = h[params! + i]! * (1 - lr! * wd!);
      h[m! + i] = h[m! + i]! + (1 - b1!) * (g - h[m! + i]!);
      h[v! + i] = h[v! + i]! * b2! + (1 - b2!) * g * g;
      h[params! + i] = p - stepSize! * (h[m! + i]! / (Math.sqrt(h[v! + i]!) / c2! + eps!));
    }
  },
  dropout_mask(mem, a) {
    const out = mem.slot(a[0]!);
    for (let i = 0; i < n(a[1]!); i++)
      mem.heap[out + i] = keep(n(a[2]!), a[3]!, a[4]!, a[5]!, i) ? 1 : 0;
  },
  cast_to_floatx(mem, a) {
    mem.heap.copyWithin(mem.slot(a[0]!), mem.slot(a[1]!), mem.slot(a[1]!) + n(a[2]!));
  },
  cast_to_float(mem, a) {
    mem.heap.copyWithin(mem.slot(a[0]!), mem.slot(a[1]!), mem.slot(a[1]!) + n(a[2]!));
  },
};

/** An EngineDevice over an emulated memory; `launches` counts kernel launches by name. */
export function emulatedDevice(): {
  device: EngineDevice;
  memory: EmulatedMemory;
  launches: Map<string, number>;
} {
  const memory = new EmulatedMemory();
  const launches = new Map<string, number>();
  const run = (name: KernelName, args: readonly KernelArg[]) => {
    const kernel = KERNELS[name];
    if (!kernel) throw new Error(`the emulation has no kernel ${name}`);
    launches.set(name, (launches.get(name) ?? 0) + 1);
    kernel(memory, args, 0);
  };
  const device: EngineDevice = {
    driver: memory as unknown as EngineDevice['driver'],
    device: 0,
    stream: null,
    kernels: {
      launch: (name, _grid, _block, args) => run(name, args),
      elementwise: (name, _n, args) => run(name, args),
      dispose: () => {},
    },
    blas: {
      matmul: (shape, a, b, d, alpha, beta, bias) =>
        matmul(memory, shape, a, b, d, alpha, beta, bias),
      dispose: () => {},
    },
    workspace: memory.alloc(256),
  };
  return { device, memory, launches };
}

/** The kernel checks' device session (tools/cuda/kernel-checks.ts) over an emulated device. */
export function emulatedCheckDevice() {
  const { device, memory } = emulatedDevice();
  return {
    kernels: device.kernels as never,
    driver: memory as never,
    upload(values: Float32Array | Int32Array): DevicePtr {
      const ptr = memory.alloc(values.byteLength);
      memory.upload(ptr, values);
      return ptr;
    },
    zeros(count: number): DevicePtr {
      const ptr = memory.alloc(count * 4);
      memory.fill32(ptr, 0, count);
      return ptr;
    },
    floats(ptr: DevicePtr, count: number): Float32Array {
      const out = new Float32Array(count);
      memory.download(out, ptr);
      return out;
    },
    ints(ptr: DevicePtr, count: number): Int32Array {
      const out = new Int32Array(count);
      memory.download(out, ptr);
      return out;
    },
  };
}
