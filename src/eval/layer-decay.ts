/**
 * Layer-wise learning-rate decay for fine-tuning a ViT, as BEiT and MAE define it
 * (`facebookresearch/mae: util/lr_decay.py param_groups_lrd`, `get_layer_id_for_vit`): with
 * L = depth + 1, a parameter's layer id is 0 for the class token, the position embedding and the
 * patch embedding, i + 1 for transformer block i, and L for everything after the blocks (the final
 * norm and the classification head); its learning rate is lr · decay^(L − id). So the head and the
 * final norm train at lr, block i at lr · decay^(depth − i), the embeddings at lr · decay^(depth + 1).
 * Names are this build's ViT parameter names (timm's: `cls_token`, `pos_embed`, `patch_embed.*`,
 * `blocks.<i>.*`, `norm.*`) under the backbone's prefix.
 */

/** Layer id of a backbone parameter given by its name without the prefix (`blocks.3.attn.qkv.weight`). */
export function vitLayerId(localName: string, depth: number): number {
  if (localName === 'cls_token' || localName === 'pos_embed' || localName.startsWith('patch_embed.')) return 0;
  const block = /^blocks\.(\d+)\./.exec(localName);
  if (block) {
    const i = Number(block[1]);
    if (i >= depth) throw new RangeError(`layer decay: '${localName}' is block ${i} of a ${depth}-block ViT`);
    return i + 1;
  }
  return depth + 1;
}

/** One learning-rate group: the parameters of one layer id and their factor on the run's LR. */
export interface LayerDecayGroup {
  /** 'layer_<id>'. */
  name: string;
  layerId: number;
  scale: number;
  params: string[];
}

/**
 * The groups of `names` (full names `<prefix>.<local>`) by layer id, ascending, each with its LR
 * factor decay^(depth + 1 − id). Names outside `prefix` (a head) are at layer depth + 1 (factor 1).
 */
export function layerDecayGroups(names: readonly string[], prefix: string, depth: number, decay: number): LayerDecayGroup[] {
  if (!(Number.isInteger(depth) && depth >= 1)) throw new RangeError(`layer decay: depth ${depth} must be an integer >= 1`);
  if (!(decay > 0 && decay <= 1)) throw new RangeError(`layer decay: decay ${decay} must be in (0, 1]`);
  const byId = new Map<number, string[]>();
  for (const name of names) {
    const id = name.startsWith(`${prefix}.`) ? vitLayerId(name.slice(prefix.length + 1), depth) : depth + 1;
    if (!byId.has(id)) byId.set(id, []);
    byId.get(id)!.push(name);
  }
  return [...byId.keys()].sort((a, b) => a - b).map((id) => ({
    name: `layer_${id}`, layerId: id, scale: decay ** (depth + 1 - id), params: byId.get(id)!,
  }));
}
