#!/usr/bin/env bash
# Idempotent set-up of the mmstablekd environment (see ../shared/INSTALL.md for the recipe).
#
# Creates $VENV (default .venv), installs torch/torchvision, builds the patched mmcv 2.1.0
# wheel once into a cache keyed by Python and torch version (default ~/.cache/mmstablekd),
# installs the rest of the MM stack at the exact versions of requirements/dev-pins.txt and the
# project itself (editable; this links mmstablekd/.mim/{configs,tools} to the checkout).
# A second run takes seconds: every step checks whether it is already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-$ROOT/.venv}"
TORCH_VERSION="2.14.1"
TORCHVISION_VERSION="0.29.1"
MMCV_VERSION="2.1.0"
CACHE_ROOT="${MMSTABLEKD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmstablekd}"

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# 1. virtual environment
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment at $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q -U pip
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install -q --disable-pip-version-check)
PYTAG="$("$PY" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')"

# 2. torch + torchvision (pinned: later installs must never replace them)
CONSTRAINTS="$VENV/mmstablekd-constraints.txt"
printf 'torch==%s\ntorchvision==%s\nsetuptools>=77.0.3,<82\n' \
  "$TORCH_VERSION" "$TORCHVISION_VERSION" > "$CONSTRAINTS"
have_torch="$("$PY" -c 'import torch, torchvision; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
if [ "$have_torch" != "$TORCH_VERSION" ]; then
  log "installing torch $TORCH_VERSION, torchvision $TORCHVISION_VERSION"
  "${PIP[@]}" -c "$CONSTRAINTS" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi
"${PIP[@]}" -c "$CONSTRAINTS" "setuptools>=77.0.3,<82" wheel ninja

# 3. mmcv with compiled ops, built once per (python, torch) and cached
WHEEL_DIR="$CACHE_ROOT/wheels/$PYTAG-torch$TORCH_VERSION"
mmcv_ok() {
  "$PY" -c "import mmcv, mmcv._ext; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null
}
if ! mmcv_ok; then
  mkdir -p "$WHEEL_DIR"
  (
    flock 9   # two concurrent set-ups never build twice
    if ! ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
      log "building mmcv $MMCV_VERSION with ops (about 21 min on 2 cores; done once, cached in $WHEEL_DIR)"
      SRC="$(mktemp -d)"
      "$PY" -m pip download -q --no-deps --no-build-isolation --no-binary :all: "mmcv==$MMCV_VERSION" -d "$SRC"
      tar xzf "$SRC/mmcv-$MMCV_VERSION.tar.gz" -C "$SRC"
      sed -i "s/'-std=c++17'/'-std=c++20'/g" "$SRC/mmcv-$MMCV_VERSION/setup.py"
      CUDA_VISIBLE_DEVICES="" MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-2}" \
        "$PY" -m pip wheel -q --no-cache-dir --no-deps --no-build-isolation \
        "$SRC/mmcv-$MMCV_VERSION" -w "$SRC/wheels"
      mv "$SRC"/wheels/mmcv-"$MMCV_VERSION"-*.whl "$WHEEL_DIR"/
      rm -rf "$SRC"
    fi
  ) 9>"$WHEEL_DIR/.lock"
  log "installing cached mmcv wheel from $WHEEL_DIR"
  "${PIP[@]}" -c "$CONSTRAINTS" --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl
fi

# 4. the rest of the stack, the dev tools and the project itself
if ! "$PY" -c "import mmstablekd, mmpretrain, mmdet, timm, pycocotools, pytest, ruff" 2>/dev/null \
   || [ -n "$(find "$ROOT/requirements.txt" "$ROOT/requirements" "$ROOT/setup.py" \
              "$ROOT/pyproject.toml" -newer "$VENV/.mmstablekd-installed" 2>/dev/null)" ] \
   || [ ! -e "$VENV/.mmstablekd-installed" ]; then
  log "installing MM stack, dev tools and mmstablekd (editable)"
  # requirements.txt has ranges (what `pip install mmstablekd[det]` accepts); the exact
  # versions of this environment come from requirements/dev-pins.txt.
  "${PIP[@]}" -c "$CONSTRAINTS" -r requirements/dev-pins.txt -r requirements.txt \
    -r requirements-dev.txt
  "${PIP[@]}" -c "$CONSTRAINTS" --no-build-isolation --no-deps -e .
  touch "$VENV/.mmstablekd-installed"
fi
# MMEngine resolves `mmstablekd::` config paths under the distribution's location
# (site-packages/mmstablekd/.mim/configs), which an editable install does not have: link the
# checkout's package there (this venv only; a wheel install has the real folder).
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
[ "$(readlink "$SITE/mmstablekd" 2>/dev/null)" = "$ROOT/mmstablekd" ] \
  || ln -sfn "$ROOT/mmstablekd" "$SITE/mmstablekd"
log "environment ready: $VENV (activate with: . $VENV/bin/activate)"
