#!/usr/bin/env bash
# Runs the CPU Fashion-MNIST suite (configs/fashion-mnist/) and writes results/fashion-mnist/
# table.{rst,csv,md} and knn-vs-epoch.{svg,png}. Needs Debian's dataset-fashion-mnist (or
# FASHION_MNIST_ROOT) and a built checkout (npm ci). Finished runs are skipped, so an interrupted
# suite continues where it stopped (add --resume to continue unfinished runs from their checkpoints).
#
# Two streams side by side with one ORT thread each: a width-0.125 step gains nothing from a second
# thread, so this halves the wall time on a 2-core machine (about 70 minutes for the eleven
# first methods; the nine added since took 16-70 minutes each on a heavily loaded machine, less on
# a quiet one; plus about 35
# for simclr-ep40 and barlowtwins-ep40, one per stream). STREAMS=1 runs everything in one
# stream with every core instead.
set -euo pipefail
cd "$(dirname "$0")/.."
cli=(node bin/ssl-bench.js)
out=results/fashion-mnist
suite=configs/fashion-mnist
stream_a=(fastsiam simclr dcl dclw tico vicreg floor-raw-pixels floor-random-init dino swav swavqueue mae msn floor-random-init-vit barlowtwins-ep40)
stream_b=(moco nnclr byol simsiam barlowtwins smog vicregl simmim pmsn simclr-ep40)
extra=("$@")

run_stream() {
  local threads=$1; shift
  local c
  for c in "$@"; do "${cli[@]}" run "$suite/$c.yaml" --threads "$threads" ${extra[@]+"${extra[@]}"}; done
}

if [[ "${STREAMS:-2}" == 1 ]]; then
  run_stream "$(nproc)" "${stream_a[@]}" "${stream_b[@]}"
else
  run_stream 1 "${stream_a[@]}" &
  pid=$!
  run_stream 1 "${stream_b[@]}"
  wait "$pid"
fi

order=BarlowTwins,BYOL,DCL,DCLW,DINO,FastSiam,MAE,MSN,Moco,NNCLR,PMSN,SimCLR,SimMIM,SimSiam,SMoG,SwaV,SwaVQueue,TiCo,VICReg,VICRegL,"Raw pixels (floor)","Random init (floor)"
title="Fashion-MNIST CPU benchmark results"
footnote="Fashion-MNIST (Debian's copy), 1000 train / 500 test images per class, 28 px, 1 channel; ResNet-18-CIFAR at width 0.125 (64-d features); kNN k=200, t=0.1 on the backbone features, max over epochs; Fashion-MNIST views for every method (configs/fashion-mnist/base.yaml). ViT rows (MAE, MSN, PMSN, SimMIM, ViT floor): ViT-S layout at width 1/6 (64-d), patch 4, 4 blocks (configs/fashion-mnist/vit-base.yaml). Runtime: pretraining wall clock incl. per-epoch kNN, two runs side by side on a 2-core CPU (--threads 1 each); the DINO, MAE, MSN, PMSN, SimMIM, SMoG, SwaV, SwaVQueue and VICRegL runs shared the machine with up to eight other processes (load average 14-20), so their runtimes are inflated and not comparable with the other rows. Memory: peak process RSS."
for format in rst md; do
  "${cli[@]}" table "$out" --format "$format" --title "$title" --order "$order" --footnote "$footnote" --out "$out/table.$format"
done
"${cli[@]}" table "$out" --format csv --order "$order" --out "$out/table.csv"
for ext in svg png; do
  "${cli[@]}" plot "$out" --metric knn_top1 --title "Fashion-MNIST: kNN top-1 vs epoch" --out "$out/knn-vs-epoch.$ext"
done
