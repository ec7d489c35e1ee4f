/**
 * The published benchmark numbers (docs/methods.md §1.1-§1.4, link data §6.3), transcribed as test
 * inputs. The golden tests turn them into summary.json files and render them with the CLI.
 * `pageTensorboard` is the Tensorboard cell of the benchmarks page version kept in
 * test/report/golden/imagenet1k.rst (rows without it are not on that page).
 */

/** label, marker, backbone label, batch size, epochs, kNN top-1 fraction, runtime min, memory GiB. */
export type SmallRow = [string, string, string, number, number, number, number, number];

export interface ImagenetRow {
  label: string;
  marker: string;
  backbone: string;
  batch: number;
  epochs: number;
  /** linear top1/top5, finetune top1/top5, kNN top1/top5 in percent as printed. */
  percents: [number, number, number, number, number, number];
  runFolder: string;
  tensorboardFile: string;
  checkpointFile: string;
  pageTensorboard?: string;
}

export const CHECKPOINT_BUCKET = 'https://lightly-ssl-checkpoints.s3.amazonaws.com/';

export const CIFAR10_ROWS: SmallRow[] = [
  ['BarlowTwins', '', 'Res18', 128, 200, 0.842, 375.9, 1.7],
  ['BYOL', '', 'Res18', 128, 200, 0.869, 121.9, 1.6],
  ['DCL', '', 'Res18', 128, 200, 0.844, 102.2, 1.5],
  ['DCLW', '', 'Res18', 128, 200, 0.833, 100.4, 1.5],
  ['DINO', '', 'Res18', 128, 200, 0.840, 120.3, 1.6],
  ['FastSiam', '', 'Res18', 128, 200, 0.906, 164.0, 2.7],
  ['Moco', '', 'Res18', 128, 200, 0.838, 128.8, 1.7],
  ['NNCLR', '', 'Res18', 128, 200, 0.834, 101.5, 1.5],
  ['SimCLR', '', 'Res18', 128, 200, 0.847, 97.7, 1.5],
  ['SimSiam', '', 'Res18', 128, 200, 0.819, 97.3, 1.6],
  ['SwaV', '', 'Res18', 128, 200, 0.812, 99.6, 1.5],
  ['SMoG', '', 'Res18', 128, 200, 0.743, 192.2, 1.2],
  ['BarlowTwins', '', 'Res18', 512, 200, 0.819, 153.3, 5.1],
  ['BYOL', '', 'Res18', 512, 200, 0.868, 108.3, 5.6],
  ['DCL', '', 'Res18', 512, 200, 0.840, 88.2, 4.9],
  ['DCLW', '', 'Res18', 512, 200, 0.824, 87.9, 4.9],
  ['DINO', '', 'Res18', 512, 200, 0.813, 108.6, 5.0],
  ['FastSiam', '', 'Res18', 512, 200, 0.788, 146.9, 9.5],
  ['Moco', '*', 'Res18', 512, 200, 0.847, 112.2, 5.6],
  ['NNCLR', '*', 'Res18', 512, 200, 0.815, 88.1, 5.0],
  ['SimCLR', '', 'Res18', 512, 200, 0.848, 87.1, 4.9],
  ['SimSiam', '', 'Res18', 512, 200, 0.764, 87.8, 5.0],
  ['SwaV', '', 'Res18', 512, 200, 0.842, 88.7, 4.9],
  ['SMoG', '', 'Res18', 512, 200, 0.686, 110.0, 3.4],
  ['BarlowTwins', '', 'Res18', 512, 800, 0.859, 517.5, 7.9],
  ['BYOL', '', 'Res18', 512, 800, 0.910, 400.9, 5.4],
  ['DCL', '', 'Res18', 512, 800, 0.874, 334.6, 4.9],
  ['DCLW', '', 'Res18', 512, 800, 0.871, 333.3, 4.9],
  ['DINO', '', 'Res18', 512, 800, 0.848, 405.2, 5.0],
  ['FastSiam', '', 'Res18', 512, 800, 0.902, 582.0, 9.5],
  ['Moco', '*', 'Res18', 512, 800, 0.899, 417.8, 5.4],
  ['NNCLR', '*', 'Res18', 512, 800, 0.892, 335.0, 5.0],
  ['SimCLR', '', 'Res18', 512, 800, 0.879, 331.1, 4.9],
  ['SimSiam', '', 'Res18', 512, 800, 0.904, 333.7, 5.1],
  ['SwaV', '', 'Res18', 512, 800, 0.884, 330.5, 5.0],
  ['SMoG', '', 'Res18', 512, 800, 0.800, 415.6, 3.2],
];

export const IMAGENETTE_ROWS: SmallRow[] = [
  ['BarlowTwins', '', 'Res18', 256, 800, 0.852, 298.5, 4.0],
  ['BYOL', '', 'Res18', 256, 800, 0.887, 214.8, 4.3],
  ['DCL', '', 'Res18', 256, 800, 0.861, 189.1, 3.7],
  ['DCLW', '', 'Res18', 256, 800, 0.865, 192.2, 3.7],
  ['DINO', '', 'Res18', 256, 800, 0.888, 312.3, 6.6],
  ['FastSiam', '', 'Res18', 256, 800, 0.873, 299.6, 7.3],
  ['MAE', '', 'ViT-S', 256, 800, 0.610, 248.2, 4.4],
  ['MSN', '', 'ViT-S', 256, 800, 0.828, 515.5, 14.7],
  ['Moco', '', 'Res18', 256, 800, 0.874, 231.7, 4.3],
  ['NNCLR', '', 'Res18', 256, 800, 0.884, 212.5, 3.8],
  ['PMSN', '', 'ViT-S', 256, 800, 0.822, 505.8, 14.7],
  ['SimCLR', '', 'Res18', 256, 800, 0.889, 193.5, 3.7],
  ['SimMIM', '', 'ViT-B32', 256, 800, 0.343, 446.5, 9.7],
  ['SimSiam', '', 'Res18', 256, 800, 0.872, 206.4, 3.9],
  ['SwaV', '', 'Res18', 256, 800, 0.902, 283.2, 6.4],
  ['SwaVQueue', '', 'Res18', 256, 800, 0.890, 282.7, 6.4],
  ['SMoG', '', 'Res18', 256, 800, 0.788, 232.1, 2.6],
  ['TiCo', '', 'Res18', 256, 800, 0.856, 177.8, 2.5],
  ['VICReg', '', 'Res18', 256, 800, 0.845, 205.6, 4.0],
  ['VICRegL', '', 'Res18', 256, 800, 0.778, 218.7, 4.0],
];

export const IMAGENET100_ROWS: SmallRow[] = [
  ['BarlowTwins', '', 'Res18', 256, 200, 0.465, 1319.3, 11.3],
  ['BYOL', '', 'Res18', 256, 200, 0.439, 1315.4, 12.9],
  ['DINO', '', 'Res18', 256, 200, 0.518, 1868.5, 17.4],
  ['FastSiam', '', 'Res18', 256, 200, 0.559, 1856.2, 22.0],
  ['Moco', '', 'Res18', 256, 200, 0.560, 1314.2, 13.1],
  ['NNCLR', '', 'Res18', 256, 200, 0.453, 1198.6, 11.8],
  ['SimCLR', '', 'Res18', 256, 200, 0.469, 1207.7, 11.3],
  ['SimSiam', '', 'Res18', 256, 200, 0.534, 1175.0, 11.1],
  ['SwaV', '', 'Res18', 256, 200, 0.678, 1569.2, 16.9],
];

export const IMAGENET1K_ROWS: ImagenetRow[] = [
  { label: 'BarlowTwins', marker: '', backbone: 'Res50', batch: 256, epochs: 100, percents: [62.9, 84.3, 72.6, 90.9, 45.6, 73.9], pageTensorboard: 'https://tensorboard.dev/experiment/NxyNRiQsQjWZ82I9b0PvKg/',
    runFolder: 'imagenet_resnet50_barlowtwins_2023-08-18_00-11-03', tensorboardFile: 'events.out.tfevents.1692310273.Machine2.569794.0', checkpointFile: 'epoch%3D99-step%3D500400.ckpt' },
  { label: 'BYOL', marker: '', backbone: 'Res50', batch: 256, epochs: 100, percents: [62.5, 85.0, 74.5, 92.0, 46.0, 74.8], pageTensorboard: '\\-',
    runFolder: 'imagenet_resnet50_byol_2024-02-14_16-10-09', tensorboardFile: 'events.out.tfevents.1707923418.Machine2.3205.0', checkpointFile: 'epoch%3D99-step%3D500400.ckpt' },
  { label: 'DINO', marker: '', backbone: 'Res50', batch: 128, epochs: 100, percents: [68.2, 87.9, 72.5, 90.8, 49.9, 78.7], pageTensorboard: 'https://tensorboard.dev/experiment/DvKHX9sNSWWqDrRksllPLA',
    runFolder: 'imagenet_resnet50_dino_2023-06-06_13-59-48', tensorboardFile: 'events.out.tfevents.1686052799.Machine2.482599.0', checkpointFile: 'epoch%3D99-step%3D1000900.ckpt' },
  { label: 'DINO', marker: '', backbone: 'ViT-S/16', batch: 128, epochs: 100, percents: [73.3, 91.3, 79.8, 95.0, 67.5, 89.7],
    runFolder: 'imagenet_vits14_dino_2025-02-16_16-03-14', tensorboardFile: 'events.out.tfevents.1739718198.compute-03-ubuntu-4x4090.2832462.0', checkpointFile: 'epoch%3D99-step%3D1000900.ckpt' },
  { label: 'iBOT', marker: '', backbone: 'ViT-S/16', batch: 128, epochs: 100, percents: [72.2, 90.5, 78.3, 94.3, 65.4, 88.5],
    runFolder: 'imagenet_vits16_ibot_2025-07-10_13-47-17', tensorboardFile: 'events.out.tfevents.1752148040.compute-01-ubuntu-2x4090.253473.0', checkpointFile: 'epoch%3D99-step%3D1000900.ckpt' },
  { label: 'LeJEPA', marker: '\\*\\*', backbone: 'ViT-S/16', batch: 512, epochs: 100, percents: [64.0, 85.8, 78.7, 94.5, 47.1, 74.3],
    runFolder: 'imagenet_vits16_lejepa_2026-05-20_17-59-16', tensorboardFile: 'metrics_plot.png', checkpointFile: 'epoch%3D099-val_online_cls_top1%3D0.5623.ckpt' },
  { label: 'MAE', marker: '', backbone: 'ViT-B/16', batch: 256, epochs: 100, percents: [46.0, 70.2, 81.3, 95.5, 11.2, 24.5], pageTensorboard: '-',
    runFolder: 'imagenet_vitb16_mae_2024-02-25_19-57-30', tensorboardFile: 'events.out.tfevents.1708887459.Machine2.1092409.0', checkpointFile: 'epoch%3D99-step%3D500400.ckpt' },
  { label: 'MoCoV2', marker: '', backbone: 'Res50', batch: 256, epochs: 100, percents: [61.5, 84.1, 74.3, 91.9, 41.8, 72.2], pageTensorboard: '\\-',
    runFolder: 'imagenet_resnet50_mocov2_2024-02-18_10-29-14', tensorboardFile: 'events.out.tfevents.1708248562.Machine2.439033.0', checkpointFile: 'epoch%3D99-step%3D500400.ckpt' },
  { label: 'SimCLR', marker: '*', backbone: 'Res50', batch: 256, epochs: 100, percents: [63.2, 85.2, 73.9, 91.9, 44.8, 73.9], pageTensorboard: 'https://tensorboard.dev/experiment/Ugol97adQdezgcVibDYMMA',
    runFolder: 'imagenet_resnet50_simclr_2023-06-22_09-11-13', tensorboardFile: 'events.out.tfevents.1687417883.Machine2.33270.0', checkpointFile: 'epoch%3D99-step%3D500400.ckpt' },
  { label: 'SimCLR* + DCL', marker: '', backbone: 'Res50', batch: 256, epochs: 100, percents: [65.1, 86.2, 73.5, 91.7, 49.6, 77.5], pageTensorboard: 'https://tensorboard.dev/experiment/k4ZonZ77QzmBkc0lXswQlg',
    runFolder: 'imagenet_resnet50_dcl_2023-07-04_16-51-40', tensorboardFile: 'events.out.tfevents.1688482310.Machine2.247807.0', checkpointFile: 'epoch%3D99-step%3D500400.ckpt' },
  { label: 'SimCLR* + DCLW', marker: '', backbone: 'Res50', batch: 256, epochs: 100, percents: [64.5, 86.0, 73.2, 91.5, 48.5, 76.8], pageTensorboard: 'https://tensorboard.dev/experiment/TrALnpwFQ4OkZV3uvaX7wQ',
    runFolder: 'imagenet_resnet50_dclw_2023-07-07_14-57-13', tensorboardFile: 'events.out.tfevents.1688734645.Machine2.3176.0', checkpointFile: 'epoch%3D99-step%3D500400.ckpt' },
  { label: 'SwAV', marker: '', backbone: 'Res50', batch: 256, epochs: 100, percents: [67.2, 88.1, 75.4, 92.7, 49.5, 78.6], pageTensorboard: 'https://tensorboard.dev/experiment/Ipx4Oxl5Qkqm5Sl5kWyKKg',
    runFolder: 'imagenet_resnet50_swav_2023-05-25_08-29-14', tensorboardFile: 'events.out.tfevents.1684996168.Machine2.1445108.0', checkpointFile: 'epoch%3D99-step%3D500400.ckpt' },
  { label: 'TiCo', marker: '', backbone: 'Res50', batch: 256, epochs: 100, percents: [49.7, 74.4, 72.7, 90.9, 26.6, 53.6], pageTensorboard: '-',
    runFolder: 'imagenet_resnet50_tico_2024-01-07_18-40-57', tensorboardFile: 'events.out.tfevents.1704649265.Machine2.1604956.0', checkpointFile: 'epoch%3D99-step%3D250200.ckpt' },
  { label: 'VICReg', marker: '', backbone: 'Res50', batch: 256, epochs: 100, percents: [63.0, 85.4, 73.7, 91.9, 46.3, 75.2], pageTensorboard: 'https://tensorboard.dev/experiment/qH5uywJbTJSzgCEfxc7yUw',
    runFolder: 'imagenet_resnet50_vicreg_2023-09-11_10-53-08', tensorboardFile: 'events.out.tfevents.1694422401.Machine2.556563.0', checkpointFile: 'epoch%3D99-step%3D500400.ckpt' },
];

