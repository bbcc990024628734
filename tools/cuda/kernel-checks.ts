/**
 * Each CUDA kernel against its float64 reference (packages/cuda/src/reference), fp32, on the GPU:
 * the largest absolute error per output and a pass at the stated tolerance.
 */
import {
  activate,
  activateGrad,
  biasGrad,
  adamwReference,
  globalNorm,
  maskedSoftmax,
  softmaxBackward,
  crossEntropy,
  layerNormBackward,
  layerNormForward,
  dropoutKeep,
} from '@ner-launch/cuda/reference';
import type { CheckDevice } from './device.js';

/** What the checks use of a device session (a CheckDevice on a GPU). */
export type KernelCheckDevice = Pick<
  CheckDevice,
  'kernels' | 'driver' | 'upload' | 'zeros' | 'floats' | 'ints'
>;

/** One kernel's verdict. */
export interface KernelCheck {
  kernel: string;
  shape: string;
  errors: Record<string, number>;
  tolerance: number;
  pass: boolean;
  error?: string;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++)
    worst = Math.max(worst, Number.isFinite(a[i]!) ? Math.abs(a[i]! - b[i]!) : Infinity);
  return worst;
}

function random(n: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/** Runs every kernel check; a check that throws is reported as failed with its message. */
export function runKernelChecks(dev: KernelCheckDevice): KernelCheck[] {
  const checks: KernelCheck[] = [];
  const check = (
    kernel: string,
    shape: string,
    tolerance: number,
    body: () => Record<string, number>,
  ) => {
    try {
      const errors = body();
      checks.push({
        kernel,
        shape,
        errors,
        tolerance,
        pass: Object.values(errors).every((e) => e <= tolerance),
      });
    } catch (error) {
      checks.push({ kernel, shape, errors: {}, tolerance, pass: false, error: String(error) });
    }
  };
  const k = dev.kernels;

  check('dropout_mask', '10007, p 0.1, counter 2^33+5', 0, () => {
    const n = 10007;
    const counter = 2 ** 33 + 5;
    const out = dev.zeros(n);
    k.elementwise('dropout_mask', n, [out, n, 0.1, 1234, 7, BigInt(counter)]);
    const got = dev.ints(out, n);
    let mismatches = 0;
    for (let i = 0; i < n; i++)
      if ((got[i] === 1) !== dropoutKeep(1234, 7, counter, i, 0.1)) mismatches++;
    return { mismatches };
  });

  const [n, h] = [37, 768];
  const a = random(n * h, 1, 2);
  const res = random(n * h, 2, 2);
  const gamma = random(h, 3);
  const beta = random(h, 4);
  const dy = random(n * h, 5);
  for (const p of [0, 0.1])
    check('residual_layernorm_forward/backward', `${n}x${h}, p ${p}`, 2e-5, () => {
      const keep = (i: number) => (p === 0 || dropoutKeep(9, 3, 11, i, p) ? 1 / (1 - p) : 0);
      const x = Float64Array.from(a, (v, i) => v * keep(i) + res[i]!);
      const ref = layerNormForward(x, gamma, beta, n, h, 1e-12);
      const grads = layerNormBackward(dy, x, gamma, n, h, 1e-12);
      const [out, pre, mean, rstd] = [
        dev.zeros(n * h),
        dev.zeros(n * h),
        dev.zeros(n),
        dev.zeros(n),
      ];
      const [pa, pr, pg, pb] = [
        dev.upload(a),
        dev.upload(res),
        dev.upload(gamma),
        dev.upload(beta),
      ];
      k.launch('residual_layernorm_forward', n, 256, [
        out,
        pre,
        mean,
        rstd,
        pa,
        pr,
        pg,
        pb,
        n,
        h,
        1e-12,
        p,
        9,
        3,
        11n,
      ]);
      const [dx, da, dgamma, dbeta] = [
        dev.zeros(n * h),
        dev.zeros(n * h),
        dev.zeros(h),
        dev.zeros(h),
      ];
      k.launch(
        'residual_layernorm_backward',
        Math.ceil(n / 8),
        256,
        [dx, da, dgamma, dbeta, dev.upload(dy), pre, mean, rstd, pg, n, h, 8, p, 9, 3, 11n],
        2 * h * 4,
      );
      const dxHost = dev.floats(dx, n * h);
      return {
        out: maxAbs(dev.floats(out, n * h), ref.out),
        dx: maxAbs(dxHost, grads.dx),
        da: maxAbs(
          dev.floats(da, n * h),
          Float64Array.from(grads.dx, (v, i) => v * keep(i)),
        ),
        dgamma: maxAbs(dev.floats(dgamma, h), grads.dgamma) / n,
        dbeta: maxAbs(dev.floats(dbeta, h), grads.dbeta) / n,
      };
    });

  for (const act of ['gelu', 'gelu_new', 'relu'] as const)
    check(`activation_forward/backward ${act}`, '10000', 1e-5, () => {
      const count = 10000;
      const x = random(count, 6, 5);
      const d = random(count, 7);
      const [px, out, dpre] = [dev.upload(x), dev.zeros(count), dev.zeros(count)];
      const code = ['gelu', 'gelu_new', 'relu'].indexOf(act);
      k.elementwise('activation_forward', count, [out, px, count, code]);
      k.elementwise('activation_backward', count, [dpre, dev.upload(d), px, count, code]);
      return {
        out: maxAbs(
          dev.floats(out, count),
          Array.from(x, (v) => activate(v, act)),
        ),
        dpre: maxAbs(
          dev.floats(dpre, count),
          Array.from(x, (v, i) => d[i]! * activateGrad(v, act)),
        ),
      };
    });

  check('bias_backward', '300x77 (x2 accumulated)', 1e-4, () => {
    const [rows, cols] = [300, 77];
    const g = random(rows * cols, 8);
    const [pg, out] = [dev.upload(g), dev.zeros(cols)];
    for (let i = 0; i < 2; i++)
      k.launch(
        'bias_backward',
        [Math.ceil(cols / 32), Math.ceil(rows / 64), 1],
        [32, 8, 1],
        [out, pg, rows, cols, 64],
      );
    return {
      dbias: maxAbs(
        dev.floats(out, cols),
        Array.from(biasGrad(g, rows, cols), (v) => 2 * v),
      ),
    };
  });

  check('cross_entropy_forward_backward', '500x13, -100 labels', 1e-5, () => {
    const [rows, labelsCount] = [500, 13];
    const logits = random(rows * labelsCount, 9, 4);
    const labels = Int32Array.from({ length: rows }, (_, i) =>
      i % 7 === 0 ? -100 : (i * 5) % labelsCount,
    );
    const ref = crossEntropy(logits, labels, rows, labelsCount, 0.25);
    const [loss, dl, preds] = [dev.zeros(rows), dev.zeros(rows * labelsCount), dev.zeros(rows)];
    k.launch('cross_entropy_forward_backward', Math.ceil(rows / 128), 128, [
      loss,
      dl,
      preds,
      dev.upload(logits),
      dev.upload(labels),
      rows,
      labelsCount,
      0.25,
    ]);
    return {
      rowLoss: maxAbs(dev.floats(loss, rows), ref.rowLoss),
      dlogits: maxAbs(dev.floats(dl, rows * labelsCount), ref.dlogits),
      predictions: maxAbs(dev.ints(preds, rows), ref.predictions),
    };
  });

  for (const p of [0, 0.1])
    check('attention_softmax_forward/backward', `2x3x37, p ${p}`, 1e-6, () => {
      const [b, nh, t] = [2, 3, 37];
      const size = b * nh * t * t;
      const scores = random(size, 10, 4);
      const dDropped = random(size, 11);
      const mask = Int32Array.from({ length: b * t }, (_, i) => (i >= t + 30 ? 0 : 1));
      const keep = (i: number) => (p === 0 || dropoutKeep(5, 2, 3, i, p) ? 1 / (1 - p) : 0);
      const probs = maskedSoftmax(scores, mask, b, nh, t);
      const dScores = softmaxBackward(
        Float64Array.from(dDropped, (v, i) => v * keep(i)),
        probs,
        b * nh * t,
        t,
      );
      const [pp, pd, ds] = [dev.zeros(size), dev.zeros(size), dev.upload(dDropped)];
      k.launch('attention_softmax_forward', Math.ceil((b * nh * t) / 4), 128, [
        pp,
        pd,
        dev.upload(scores),
        dev.upload(mask),
        b,
        nh,
        t,
        p,
        5,
        2,
        3n,
      ]);
      k.launch('attention_softmax_backward', Math.ceil((b * nh * t) / 4), 128, [
        ds,
        ds,
        pp,
        b * nh * t,
        t,
        p,
        5,
        2,
        3n,
      ]);
      const errors: Record<string, number> = {
        probs: maxAbs(dev.floats(pp, size), probs),
        dscores: maxAbs(dev.floats(ds, size), dScores),
      };
      if (p > 0)
        errors.dropped = maxAbs(
          dev.floats(pd, size),
          Float64Array.from(probs, (v, i) => v * keep(i)),
        );
      return errors;
    });

  check('global_norm_squares / scale_and_check', '1e6', 1e-5, () => {
    const count = 1_000_000;
    const g = random(count, 12, 0.01);
    const [pg, sums, flag] = [dev.upload(g), dev.zeros(512), dev.zeros(1)];
    k.launch('global_norm_squares', 512, 256, [sums, pg, count]);
    const norm = Math.sqrt(dev.floats(sums, 512).reduce((s, v) => s + v, 0));
    k.elementwise('scale_and_check', count, [pg, count, 0.5, flag]);
    const finiteFlag = dev.ints(flag, 1)[0]!;
    dev.driver.upload(pg + 4n * 1234n, Float32Array.of(Infinity));
    k.elementwise('scale_and_check', count, [pg, count, 1, flag]);
    return {
      normRelative: Math.abs(norm - globalNorm(g)) / globalNorm(g),
      scaled: maxAbs(
        dev.floats(pg, 1000),
        Array.from(g.subarray(0, 1000), (v) => Math.fround(v * 0.5)),
      ),
      flagWhenFinite: finiteFlag,
      flagMissedInf: 1 - dev.ints(flag, 1)[0]!,
    };
  });

  check('adamw_update', '100000, step 3', 1e-6, () => {
    const count = 100_000;
    const o = { lr: 1e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3 };
    const [param, grad, m] = [random(count, 13), random(count, 14), random(count, 15, 0.01)];
    const v = random(count, 16, 1e-4).map(Math.abs);
    const ref = adamwReference(param, grad, m, v, o);
    const [pp, pm, pv] = [dev.upload(param), dev.upload(m), dev.upload(v)];
    k.elementwise('adamw_update', count, [
      pp,
      0n,
      dev.upload(grad),
      pm,
      pv,
      count,
      o.lr,
      o.weightDecay,
      o.beta1,
      o.beta2,
      o.eps,
      o.lr / (1 - o.beta1 ** o.step),
      Math.sqrt(1 - o.beta2 ** o.step),
    ]);
    return {
      param: maxAbs(dev.floats(pp, count), ref.param),
      expAvg: maxAbs(dev.floats(pm, count), ref.expAvg),
      expAvgSq: maxAbs(dev.floats(pv, count), ref.expAvgSq),
    };
  });

  check('embeddings_forward/backward', '3x16x64, vocab 100, p 0.1', 2e-5, () => {
    const [b, t, hh, vocab, p] = [3, 16, 64, 100, 0.1];
    const rows = b * t;
    const ids = Int32Array.from({ length: rows }, (_, i) => (i * 37) % vocab);
    const [wte, wpe, wtt, g, bb] = [
      random(vocab * hh, 17),
      random(t * hh, 18),
      random(2 * hh, 19),
      random(hh, 20),
      random(hh, 21),
    ];
    const x = Float64Array.from(
      { length: rows * hh },
      (_, i) =>
        wte[ids[Math.floor(i / hh)]! * hh + (i % hh)]! +
        wpe[(Math.floor(i / hh) % t) * hh + (i % hh)]! +
        wtt[i % hh]!,
    );
    const keep = (i: number) => (dropoutKeep(4, 0xffff0000, 6, i, p) ? 1 / (1 - p) : 0);
    const ref = layerNormForward(x, g, bb, rows, hh, 1e-12);
    const dOut = random(rows * hh, 22);
    const grads = layerNormBackward(
      Float64Array.from(dOut, (v, i) => v * keep(i)),
      x,
      g,
      rows,
      hh,
      1e-12,
    );
    const dwteRef = new Float64Array(vocab * hh);
    const dwpeRef = new Float64Array(t * hh);
    grads.dx.forEach((v, i) => {
      dwteRef[ids[Math.floor(i / hh)]! * hh + (i % hh)]! += v;
      dwpeRef[(Math.floor(i / hh) % t) * hh + (i % hh)]! += v;
    });
    const [out, pre, mean, rstd] = [
      dev.zeros(rows * hh),
      dev.zeros(rows * hh),
      dev.zeros(rows),
      dev.zeros(rows),
    ];
    const [pids, pte, ppe, ptt, pgm] = [
      dev.upload(ids),
      dev.upload(wte),
      dev.upload(wpe),
      dev.upload(wtt),
      dev.upload(g),
    ];
    k.launch('embeddings_forward', rows, 256, [
      out,
      pre,
      mean,
      rstd,
      pids,
      0n,
      pte,
      ppe,
      ptt,
      pgm,
      dev.upload(bb),
      rows,
      t,
      hh,
      1e-12,
      p,
      4,
      0xffff0000,
      6n,
    ]);
    const [dwte, dwpe, dwtt, dg, db] = [
      dev.zeros(vocab * hh),
      dev.zeros(t * hh),
      dev.zeros(2 * hh),
      dev.zeros(hh),
      dev.zeros(hh),
    ];
    k.launch(
      'embeddings_backward',
      Math.ceil(rows / 8),
      256,
      [
        dwte,
        dwpe,
        dwtt,
        dg,
        db,
        dev.upload(dOut),
        pre,
        mean,
        rstd,
        pids,
        0n,
        pgm,
        rows,
        t,
        hh,
        2,
        8,
        p,
        4,
        0xffff0000,
        6n,
      ],
      4 * hh * 4,
    );
    return {
      out: maxAbs(
        dev.floats(out, rows * hh),
        Float64Array.from(ref.out, (v, i) => v * keep(i)),
      ),
      dwte: maxAbs(dev.floats(dwte, vocab * hh), dwteRef),
      dwpe: maxAbs(dev.floats(dwpe, t * hh), dwpeRef),
      dwtt: maxAbs(
        dev.floats(dwtt, hh),
        Float64Array.from({ length: hh }, (_, j) =>
          grads.dx.reduce((s, v, i) => (i % hh === j ? s + v : s), 0),
        ),
      ),
      dgamma: maxAbs(dev.floats(dg, hh), grads.dgamma),
    };
  });
  return checks;
}
