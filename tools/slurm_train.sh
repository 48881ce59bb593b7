#!/usr/bin/env bash
# Multi-node training on a Slurm cluster (GPUs): one task per GPU, MMEngine's slurm launcher.
#   [GPUS=16] [GPUS_PER_NODE=8] tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args]
# e.g. GPUS=8 tools/slurm_train.sh gpu swin configs/stablekd/swin-t_swin-s_imagenet.py
set -e
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
DIR="$(cd "$(dirname "$0")" && pwd)"
PYTHONPATH="$DIR/..:$PYTHONPATH" \
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    python -u "$DIR/train.py" "$CONFIG" --launcher slurm "${@:4}"
