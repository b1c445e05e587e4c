#!/usr/bin/env bash
# CycleGAN, CUT, FastCUT and the filter's GAN on the quality tasks (colour-grade, stylise, pencil, detail): 10
# minutes of training each, scored at 2, 5 and 10 minutes, one after another (each run needs the machine to itself;
# about 11 minutes a run on a 2-core CPU, over 6 hours for all). Results go to benchmarks/results/objectives/, which RESULTS.md renders
# (python -m benchmarks.run_all --render). Give names to run only some: bash benchmarks/objective_grid.sh pencil_cut_fast
# The runs with epochs=1000 epochs_decay=0 hold the learning rate constant, as every run did before --max-time fitted
# the schedule to the budget; the others decay it over the second half of the 10 minutes, as a user's run does.
# Likewise the gan runs with lambda_identity_b=0 were measured before its identity loss on B was on by default.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/objectives
mkdir -p "$out"
grid=(
  "colour-grade_cyclegan_fast    --task colour-grade fast=true epochs=1000 epochs_decay=0"
  "colour-grade_cut_fast         --task colour-grade objective=cut fast=true epochs=1000 epochs_decay=0"
  "colour-grade_fastcut_fast     --task colour-grade objective=fastcut fast=true epochs=1000 epochs_decay=0"
  "colour-grade_cut              --task colour-grade objective=cut epochs=1000 epochs_decay=0"
  "colour-grade_fastcut          --task colour-grade objective=fastcut epochs=1000 epochs_decay=0"
  "stylise_cyclegan_fast         --task stylise fast=true epochs=1000 epochs_decay=0"
  "stylise_cyclegan_fast_size128 --task stylise fast=true size=128 epochs=1000 epochs_decay=0"
  "stylise_cut_fast              --task stylise objective=cut fast=true epochs=1000 epochs_decay=0"
  "stylise_cut                   --task stylise objective=cut epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast          --task stylise objective=fastcut fast=true epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_input_layer  --task stylise objective=fastcut fast=true nce_layers=0,4,8,12 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_input_layer_noidentity  --task stylise objective=fastcut fast=true nce_layers=0,4,8,12 identity_start=false epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_nce1     --task stylise objective=fastcut fast=true lambda_nce=1 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_d2       --task stylise objective=fastcut fast=true n_layers_d=2 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128  --task stylise objective=fastcut fast=true size=128 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128_nce1  --task stylise objective=fastcut fast=true size=128 lambda_nce=1 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128_nce3  --task stylise objective=fastcut fast=true size=128 lambda_nce=3 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128_nce1_d1  --task stylise objective=fastcut fast=true size=128 lambda_nce=1 n_layers_d=1 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128_nce1_cm1  --task stylise objective=fastcut fast=true size=128 lambda_nce=1 colour_map_lr=1 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128_texture1  --task stylise objective=fastcut fast=true size=128 lambda_texture=1 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128_texture3  --task stylise objective=fastcut fast=true size=128 lambda_texture=3 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128_texture10  --task stylise objective=fastcut fast=true size=128 lambda_texture=10 epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128_texture10_decay  --task stylise objective=fastcut fast=true size=128 lambda_texture=10 epochs=5 epochs_decay=5"
  "stylise_fastcut               --task stylise objective=fastcut epochs=1000 epochs_decay=0"
  "pencil_cyclegan_fast          --task pencil fast=true epochs=1000 epochs_decay=0"
  "pencil_fastcut_fast           --task pencil objective=fastcut fast=true epochs=1000 epochs_decay=0"
  "detail_cyclegan_fast          --task detail fast=true epochs=1000 epochs_decay=0"
  "detail_fastcut_fast           --task detail objective=fastcut fast=true epochs=1000 epochs_decay=0"
  "detail_fastcut_fast_size128   --task detail objective=fastcut fast=true size=128 epochs=1000 epochs_decay=0"
  "detail_fastcut_fast_size128_texture1  --task detail objective=fastcut fast=true size=128 lambda_texture=1 epochs=1000 epochs_decay=0"
  "detail_fastcut_fast_size128_edge_map  --task detail objective=fastcut fast=true size=128 edge_map=true epochs=1000 epochs_decay=0"
  "stylise_fastcut_fast_size128_edge_map  --task stylise objective=fastcut fast=true size=128 edge_map=true epochs=1000 epochs_decay=0"
  "detail_fastcut_fast_size128_seed1  --task detail --seed 1 objective=fastcut fast=true size=128 epochs=1000 epochs_decay=0"
  "detail_fastcut_fast_size128_edge_map_seed1  --task detail --seed 1 objective=fastcut fast=true size=128 edge_map=true epochs=1000 epochs_decay=0"
  "stylise_gan_fast_size128_edge_map  --task stylise objective=gan fast=true size=128 edge_map=true epochs=1000 epochs_decay=0 lambda_identity_b=0"
  "stylise_gan_filter            --task stylise preset=filter objective=gan fast=true size=128 epochs=1000 epochs_decay=0 lambda_identity_b=0"
  "stylise_gan_filter_seed1      --task stylise --seed 1 preset=filter objective=gan fast=true size=128 epochs=1000 epochs_decay=0 lambda_identity_b=0"
  "stylise_gan_filter_cm3        --task stylise preset=filter objective=gan fast=true size=128 colour_map_lr=3 epochs=1000 epochs_decay=0 lambda_identity_b=0"
  "stylise_cyclegan_filter       --task stylise preset=filter fast=true size=128 colour_map_lr=3 epochs=1000 epochs_decay=0"
  "colour-grade_gan_filter       --task colour-grade preset=filter objective=gan fast=true size=128 epochs=1000 epochs_decay=0 lambda_identity_b=0"
  "detail_gan_filter             --task detail preset=filter objective=gan fast=true size=128 epochs=1000 epochs_decay=0 lambda_identity_b=0"
  "detail_gan_filter_lr5e-5      --task detail preset=filter objective=gan fast=true size=128 lr=0.00005 epochs=1000 epochs_decay=0 lambda_identity_b=0"
  "stylise_gan_filter_d2         --task stylise preset=filter objective=gan fast=true size=128 n_layers_d=2 epochs=1000 epochs_decay=0 lambda_identity_b=0"
  "colour-grade_gan_filter_d2    --task colour-grade preset=filter objective=gan fast=true size=128 n_layers_d=2 epochs=1000 epochs_decay=0 lambda_identity_b=0"
  "stylise_gan_filter_decay      --task stylise preset=filter objective=gan fast=true size=128 lambda_identity_b=0"
  "colour-grade_gan_filter_decay --task colour-grade preset=filter objective=gan fast=true size=128 lambda_identity_b=0"
  "stylise_gan_filter_decay_idt1  --task stylise preset=filter objective=gan fast=true size=128 lambda_identity_b=1"
  "colour-grade_gan_filter_decay_idt1  --task colour-grade preset=filter objective=gan fast=true size=128 lambda_identity_b=1"
  "detail_fastcut_fast_size128_edge_map_decay  --task detail objective=fastcut fast=true size=128 edge_map=true"
)
for line in "${grid[@]}"; do
  read -r name args <<< "$line"
  if [ $# -gt 0 ] && [[ ! " $* " == *" $name "* ]]; then continue; fi
  echo "== $name: $args"
  # shellcheck disable=SC2086
  ${PYTHON:-python3} -m benchmarks.quality --minutes 10 --checkpoints 2,5,10 --json "$out/$name.json" $args
done
