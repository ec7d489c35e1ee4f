import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/data/rng';
import { TrainStepRunner, buildTrainStep, createSession, type HostData } from '../../src/engine';
import { buildClassifierEvalModel, evaluateClassifier } from '../../src/eval/classifier-eval';
import { ONLINE_CLASSIFIER_PREFIX, OnlineLinearClassifier } from '../../src/eval/online-linear';
import { add, mul, reduceMean } from '../../src/graph';
import { initParameters } from '../../src/nn/init';
import { Linear } from '../../src/nn/linear';
import { sgd } from '../../src/optim';

const B = 32;
const IN = 4;
const D = 6;
const C = 3;

/** Gaussian inputs classed by their first coordinate (> 0.4, < -0.4, between): learnable by a linear head on a linear embedding. */
function batch(seed: number, n: number) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * IN }, () => rng.normal());
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * IN] > 0.4 ? 0 : x[i * IN] < -0.4 ? 1 : 2));
  return { x, y };
}

function setup(ssl: 'none' | 'mean') {
  const backbone = new Linear(IN, D);
  const online = new OnlineLinearClassifier(D, C);
  const trainable = [...backbone.parameters('backbone'), ...online.parameters()];
  const model = buildTrainStep({
    name: 'online-linear-test',
    trainable,
    buffers: [],
    optimizer: sgd({ momentum: 0.9 }),
    excludeNormBiasFromWd: true,
    build(step) {
      const feats = backbone.forward(step.forward(backbone, { prefix: 'backbone' }), step.input('x', [B, IN]));
      const head = online.addToStep(step, feats, step.input('y', [B], 'int32'));
      // A stand-in SSL loss that does reach the backbone (or none at all).
      const loss = ssl === 'mean' ? add(mul(reduceMean(mul(feats, feats)), 0.01), head.loss) : head.loss;
      return { loss, metrics: { online_linear_loss: head.loss } };
    },
  });
  const initial = initParameters(trainable, new Rng(1)) as Map<string, HostData>;
  return { backbone, online, model, initial };
}

describe('OnlineLinearClassifier', () => {
  test('trains on detached features: the backbone gets no gradient from it; weight-decay-0 group', async () => {
    const { model, initial } = setup('none');
    expect(model.state.filter((e) => e.role === 'param').map((e) => e.name)).toEqual([
      'backbone.weight', 'backbone.bias', `${ONLINE_CLASSIFIER_PREFIX}.weight`, `${ONLINE_CLASSIFIER_PREFIX}.bias`,
    ]);
    const { x, y } = batch(2, B);
    const data = { x: new ort.Tensor('float32', x, [B, IN]), y: new ort.Tensor('int32', y, [B]) };
    const runWith = async (weightDecay: number) => {
      const runner = await TrainStepRunner.create(model, initial, { threads: 1 });
      for (let i = 0; i < 3; i++) await runner.step(data, { lr: 0.1, weightDecay });
      const out = new Map([...model.stateNames].map((n) => [n, Float32Array.from(runner.state.data(n) as Float32Array)]));
      await runner.release();
      return out;
    };
    const plain = await runWith(0);
    const decayed = await runWith(5);
    // Only the online loss: the backbone keeps its initial weights (stop-gradient at the features).
    expect(Array.from(plain.get('backbone.weight')!)).toEqual(Array.from(initial.get('backbone.weight') as Float32Array));
    expect(Array.from(plain.get(`${ONLINE_CLASSIFIER_PREFIX}.weight`)!)).not.toEqual(Array.from(initial.get(`${ONLINE_CLASSIFIER_PREFIX}.weight`) as Float32Array));
    // wd 5 would change a decayed parameter a lot; the classifier is in the wd-0 group.
    expect(Array.from(decayed.get(`${ONLINE_CLASSIFIER_PREFIX}.weight`)!)).toEqual(Array.from(plain.get(`${ONLINE_CLASSIFIER_PREFIX}.weight`)!));
  });

  test('learns alongside an SSL loss and is evaluated with the shared classifier eval model', async () => {
    const { model, initial, online } = setup('mean');
    const runner = await TrainStepRunner.create(model, initial, { threads: 1 });
    let first = 0;
    let last = 0;
    for (let i = 0; i < 60; i++) {
      const { x, y } = batch(100 + i, B);
      const r = await runner.step({ x: new ort.Tensor('float32', x, [B, IN]), y: new ort.Tensor('int32', y, [B]) }, { lr: 0.2, weightDecay: 0 });
      if (i === 0) first = r.metrics.online_linear_loss;
      last = r.metrics.online_linear_loss;
    }
    expect(last).toBeLessThan(first * 0.7);

    // Validation: embed held-out inputs with the trained backbone (a plain linear map here), then the head.
    const evalModel = buildClassifierEvalModel(online.head, ONLINE_CLASSIFIER_PREFIX, D, C);
    expect(evalModel.stateNames).toEqual([`${ONLINE_CLASSIFIER_PREFIX}.weight`, `${ONLINE_CLASSIFIER_PREFIX}.bias`]);
    const { session } = await createSession(evalModel.modelBytes, 'cpu', { threads: 1 });
    const { x, y } = batch(999, 400);
    const W = runner.state.data('backbone.weight') as Float32Array;
    const b = runner.state.data('backbone.bias') as Float32Array;
    const feats = new Float32Array(400 * D);
    for (let i = 0; i < 400; i++) for (let o = 0; o < D; o++) {
      let s = b[o];
      for (let k = 0; k < IN; k++) s += W[o * IN + k] * x[i * IN + k];
      feats[i * D + o] = s;
    }
    const acc = await evaluateClassifier(session, evalModel, (n) => runner.state.get(n), feats, y, 128);
    // Reference accuracy from the same weights, computed here.
    const hW = runner.state.data(`${ONLINE_CLASSIFIER_PREFIX}.weight`) as Float32Array;
    const hb = runner.state.data(`${ONLINE_CLASSIFIER_PREFIX}.bias`) as Float32Array;
    let hits = 0;
    for (let i = 0; i < 400; i++) {
      const logits = Array.from({ length: C }, (_, c) => hb[c] + Array.from({ length: D }, (_, d) => hW[c * D + d] * feats[i * D + d]).reduce((p, q) => p + q, 0));
      if (logits.indexOf(Math.max(...logits)) === y[i]) hits++;
    }
    expect(acc.top1).toBeCloseTo(hits / 400, 2);
    expect(acc.top1).toBeGreaterThan(0.6);
    expect(acc.top5).toBe(1);
    await session.release();
    await runner.release();
  });
});
