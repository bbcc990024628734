import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText, renderConfigFile } from '../src/config-file.js';
import { askConfigSettings, defaultConfigSettings, type Ask } from '../src/config-questionnaire.js';

/** Answers the questions in order, recording them. */
function scripted(answers: string[]): { ask: Ask; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    ask: (q) => {
      asked.push(q);
      return Promise.resolve(answers.shift() ?? '');
    },
  };
}

describe('askConfigSettings', () => {
  it('writes a multi-node GPU config from the answers, in accelerate keys', async () => {
    const { ask } = scripted([
      'multi-GPU',
      '2',
      '1',
      '10.0.0.1',
      '29501',
      'yes',
      '8',
      '0,1,2,3',
      'bf16',
      '',
      '1',
    ]);
    const settings = await askConfigSettings(ask, 4);
    const flags = parseConfigText(renderConfigFile(settings), 'x.yaml').flags;
    assert.deepEqual(flags, {
      multiGpu: true,
      mixedPrecision: 'bf16',
      cpu: false,
      debug: false,
      numProcesses: 8,
      numMachines: 2,
      machineRank: 1,
      gpuIds: '0,1,2,3',
      mainProcessIp: '10.0.0.1',
      mainProcessPort: 29501,
      sameNetwork: true,
      maxRestarts: 1,
    });
  });

  it('takes the defaults on empty answers and asks again after a bad one', async () => {
    const { ask, asked } = scripted(['multi-CPU', '', 'many', '', '3']);
    const settings = await askConfigSettings(ask, 0);
    assert.equal(settings.distributedType, 'MULTI_CPU');
    assert.equal(settings.useCpu, true);
    assert.equal(settings.numProcesses, 3);
    assert.equal(settings.backend, 'auto', 'auto keeps the file readable by accelerate');
    assert.ok(asked.some((q) => /expected an integer from 1/.test(q)));
  });
});

describe('defaultConfigSettings', () => {
  it('follows accelerate: several GPUs → MULTI_GPU over all of them, none → CPU', () => {
    assert.equal(defaultConfigSettings(4).distributedType, 'MULTI_GPU');
    assert.equal(defaultConfigSettings(4).numProcesses, 4);
    assert.equal(defaultConfigSettings(1).distributedType, 'NO');
    assert.equal(defaultConfigSettings(0).useCpu, true);
  });
});
