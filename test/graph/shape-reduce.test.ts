import {
  Graph, Tensor, concat, expand, flatten, gather, gatherElements, pad, reduceMax, reduceMean, reduceMin, reduceSum, reshape,
  scatterElementsAdd, slice, split, squeeze, transpose, unsqueeze,
} from '../../src/graph';
import { checkGradient, type CheckInput } from '../support/graph-harness';

type Case = [string, (g: Graph, xs: Tensor[]) => Tensor | Tensor[], CheckInput[]];
const int64 = (shape: number[], data: number[]): CheckInput => ({ shape, dtype: 'int64', data });

const cases: Case[] = [
  ['reduceSum axes [1] keepdims', (_g, [a]) => reduceSum(a, [1], true), [{ shape: [2, 3, 4] }]],
  ['reduceSum all', (_g, [a]) => reduceSum(a), [{ shape: [2, 3] }]],
  ['reduceMean axes [0,2]', (_g, [a]) => reduceMean(a, [0, -1]), [{ shape: [2, 3, 4] }]],
  ['reduceMax axis 1', (_g, [a]) => reduceMax(a, [1]), [{ shape: [3, 5] }]],
  ['reduceMin axes [0] keepdims', (_g, [a]) => reduceMin(a, [0], true), [{ shape: [3, 5] }]],
  ['reshape with -1', (_g, [a]) => reshape(a, [3, -1]), [{ shape: [2, 3, 2] }]],
  ['flatten/unsqueeze/squeeze', (_g, [a]) => squeeze(unsqueeze(flatten(a), 0), 0), [{ shape: [2, 3, 2] }]],
  ['transpose', (_g, [a]) => transpose(a, [2, 0, 1]), [{ shape: [2, 3, 4] }]],
  ['expand', (_g, [a]) => expand(a, [2, 3, 4]), [{ shape: [3, 1] }]],
  ['concat axis 1', (_g, [a, b, c]) => concat([a, b, c], 1), [{ shape: [2, 1, 3] }, { shape: [2, 2, 3] }, { shape: [2, 3, 3] }]],
  ['split sizes, one part unused', (_g, [a]) => split(a, [1, 3, 2], -1).slice(0, 2), [{ shape: [2, 6] }]],
  ['split equal parts', (_g, [a]) => split(a, 2, 0), [{ shape: [4, 3] }]],
  ['slice step 1 with negative start', (_g, [a]) => slice(a, [1, -3], [3, 100], [0, 1]), [{ shape: [4, 5] }]],
  ['slice step 2', (_g, [a]) => slice(a, [1, 0], [6, 5], [0, 1], [2, 3]), [{ shape: [7, 5] }]],
  ['pad', (_g, [a]) => pad(a, [[1, 0], [2, 3]]), [{ shape: [2, 3] }]],
  ['gather axis 0, 2-D indices with repeats', (_g, [a, i]) => gather(a, i, 0), [{ shape: [4, 3] }, int64([2, 2], [3, 0, 3, 1])]],
  ['gather axis 1', (_g, [a, i]) => gather(a, i, 1), [{ shape: [2, 5, 3] }, int64([3], [4, 4, 0])]],
  ['gatherElements axis 1', (_g, [a, i]) => gatherElements(a, i, 1), [{ shape: [2, 4] }, int64([2, 3], [0, 3, 3, 1, 1, 2])]],
  ['scatterElementsAdd data and updates', (_g, [d, i, u]) => scatterElementsAdd(d, i, u, 1), [{ shape: [2, 4] }, int64([2, 2], [1, 1, 0, 3]), { shape: [2, 2] }]],
];

describe('reduction and shape gradients match finite differences (float64)', () => {
  it.each(cases)('%s', async (_name, build, inputs) => {
    const res = await checkGradient(build, inputs, { eps: 1e-6 });
    expect(res.maxRelErr).toBeLessThan(1e-6);
  });

});
