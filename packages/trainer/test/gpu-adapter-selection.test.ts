import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  cudaIdFromEnv,
  isSoftwareAdapter,
  parseAdapterListing,
  parseNvidiaSmi,
  planAdapter,
  type AdapterEntry,
} from '../src/gpu/adapter-selection.js';

const LISTING = `Error: no adapter  with name 'x' found:
Available adapters:
 * backend: 'vulkan', name: 'NVIDIA A100-SXM4-40GB'
 * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'
 * backend: 'vulkan', name: 'llvmpipe (LLVM 17.0.6, 256 bits)'
 * backend: 'opengles', name: 'NVIDIA A100-SXM4-40GB'
`;

// nvidia-smi indices deliberately not in the adapter listing's order of names.
const SMI = `0, 00000000:41:00.0, NVIDIA H100 80GB HBM3
1, 00000000:07:00.0, NVIDIA A100-SXM4-40GB
`;

describe('WebGPU adapter selection', () => {
  const adapters = parseAdapterListing(LISTING);

  it('parses Dawn’s adapter listing in order', () => {
    assert.deepEqual(adapters[0], { backend: 'vulkan', name: 'NVIDIA A100-SXM4-40GB' });
    assert.equal(adapters.length, 4);
    assert.equal(adapters[2].name, 'llvmpipe (LLVM 17.0.6, 256 bits)');
  });

  it('treats llvmpipe, SwiftShader and the null backend as software adapters', () => {
    assert.equal(isSoftwareAdapter(adapters[2]), true);
    assert.equal(isSoftwareAdapter({ backend: 'vulkan', name: 'SwiftShader Device' }), true);
    assert.equal(isSoftwareAdapter({ backend: 'null', name: 'Null backend' }), true);
    assert.equal(isSoftwareAdapter(adapters[0]), false);
  });

  it('parses nvidia-smi CSV and names the bad line', () => {
    const gpus = parseNvidiaSmi(`index, pci.bus_id, name\n${SMI}`);
    assert.deepEqual(gpus[1], {
      index: 1,
      pciBusId: '00000000:07:00.0',
      name: 'NVIDIA A100-SXM4-40GB',
    });
    assert.throws(() => parseNvidiaSmi('zero, x'), /line 1/);
  });

  it('maps a CUDA id to the adapter at its PCI-bus position', () => {
    const gpus = parseNvidiaSmi(SMI);
    // GPU 1 (bus 07) comes first by bus id: the first Vulkan adapter.
    const one = planAdapter({ adapters, cudaId: 1, nvidiaGpus: gpus });
    assert.equal(one.ordinal, 0);
    assert.ok(one.flags.includes('adapter=NVIDIA A100-SXM4-40GB'));
    const zero = planAdapter({ adapters, cudaId: 0, nvidiaGpus: gpus });
    assert.equal(zero.ordinal, 1);
    assert.ok(zero.flags.includes('adapter=NVIDIA H100 80GB HBM3'));
    assert.match(zero.description, /GPU id 0/);
  });

  it('uses adapter order as the CUDA order when nvidia-smi is missing', () => {
    const plan = planAdapter({ adapters, cudaId: 1 });
    assert.equal(plan.adapter?.name, 'NVIDIA H100 80GB HBM3');
  });

  it('skips software adapters when no GPU id is given', () => {
    const soft: AdapterEntry[] = [
      { backend: 'vulkan', name: 'llvmpipe (LLVM 17)' },
      { backend: 'vulkan', name: 'NVIDIA H200' },
    ];
    assert.equal(planAdapter({ adapters: soft }).adapter?.name, 'NVIDIA H200');
    assert.equal(planAdapter({ adapters: [soft[0]] }).adapter, undefined);
  });

  it('lets several workers share GPU 0', () => {
    const one: AdapterEntry[] = [{ backend: 'vulkan', name: 'NVIDIA H200' }];
    const smi = parseNvidiaSmi('0, 00000000:1B:00.0, NVIDIA H200');
    const plans = [0, 0, 0].map((id) =>
      planAdapter({ adapters: one, cudaId: id, nvidiaGpus: smi }),
    );
    for (const p of plans) assert.equal(p.adapter?.name, 'NVIDIA H200');
  });

  it('refuses a GPU id beyond the adapters found', () => {
    assert.throws(() => planAdapter({ adapters, cudaId: 5 }), /only 2 WebGPU adapter/);
    assert.throws(
      () => planAdapter({ adapters, cudaId: 7, nvidiaGpus: parseNvidiaSmi(SMI) }),
      /not among nvidia-smi/,
    );
  });

  it('refuses when adapter names disagree with nvidia-smi at that bus position', () => {
    const smi = parseNvidiaSmi(
      '0, 00000000:07:00.0, NVIDIA H100 80GB HBM3\n1, 00000000:41:00.0, NVIDIA A100-SXM4-40GB',
    );
    assert.throws(() => planAdapter({ adapters, cudaId: 0, nvidiaGpus: smi }), /PCI bus order/);
  });

  it('refuses to pretend it can pin the second of two identical GPUs', () => {
    const twins: AdapterEntry[] = [
      { backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3' },
      { backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3' },
    ];
    assert.equal(planAdapter({ adapters: twins, cudaId: 0 }).ordinal, 0);
    assert.throws(() => planAdapter({ adapters: twins, cudaId: 1 }), /picks adapters by name only/);
  });

  it('reads one numeric GPU id from CUDA_VISIBLE_DEVICES', () => {
    assert.equal(cudaIdFromEnv(undefined), undefined);
    assert.equal(cudaIdFromEnv(''), undefined);
    assert.equal(cudaIdFromEnv('3'), 3);
    assert.throws(() => cudaIdFromEnv('0,1'), /exactly one numeric GPU id/);
  });
});
