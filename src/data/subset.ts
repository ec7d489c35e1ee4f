import { Rng } from './rng';

/** How much of a split to keep: `per_class` images per class, or a `fraction` of each class. */
export interface SubsetSpec {
  per_class?: number | null;
  fraction?: number | null;
}

/**
 * Class-balanced, seeded selection of image indices. Each class (and the unlabeled group, label
 * -1) is shuffled by its own stream of `rng` and its first `per_class` (or `round(fraction *
 * size)`, at least 1) indices are kept; a class smaller than `per_class` is kept whole. For the
 * unlabeled group `per_class` means `per_class * numClasses`, so an unlabeled subset is as large
 * as the labeled one it sits next to. Returns the kept indices in ascending order, so the subset
 * keeps the source's order and does not depend on how classes are interleaved.
 */
export function selectSubset(labels: Int32Array, numClasses: number, spec: SubsetSpec, rng: Rng): Int32Array {
  const perClass = spec.per_class ?? null;
  const fraction = spec.fraction ?? null;
  if (perClass === null && fraction === null) return Int32Array.from({ length: labels.length }, (_, i) => i);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    let group = groups.get(label);
    if (!group) { group = []; groups.set(label, group); }
    group.push(i);
  }
  const kept: number[] = [];
  for (const label of [...groups.keys()].sort((a, b) => a - b)) {
    const members = groups.get(label)!;
    const want = perClass !== null
      ? (label < 0 ? perClass * Math.max(1, numClasses) : perClass)
      : Math.max(1, Math.round(fraction! * members.length));
    rng.fork(`class:${label}`).shuffle(members);
    for (let k = 0; k < Math.min(want, members.length); k++) kept.push(members[k]);
  }
  return Int32Array.from(kept.sort((a, b) => a - b));
}
