#!/usr/bin/env bash
# Proves the Dockerfile without a Docker engine (CI machines have none): copies the build context as
# `docker build` would (honouring .dockerignore) into a clean directory, runs the Dockerfile's own
# `RUN npm …` build commands there, assembles the runtime stage from its `COPY --from=build` lines,
# starts the service exactly as the image's CMD would, waits for /readyz, runs the image's
# HEALTHCHECK command, submits one small job and reads it back, then stops the service with
# SIGTERM and requires exit code 0.
#
# What it cannot prove: the apt-get line (the host provides python3/make/g++ instead), the
# image's ENV npm_config_nodedir (the host's node headers are where the committed .npmrc says), the
# non-root user and the volume. Usage: bash scripts/container-check.sh   (KEEP=1 keeps the temp dir)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gl-container-check.XXXXXX")"
CTX="$WORK/build"      # the build stage's /app
RUNTIME="$WORK/app"    # the runtime stage's /app
DATA="$WORK/data"      # the /data volume
LOG="$WORK/server.log"
SERVER_PID=""

say() { printf '[container-check] %s\n' "$*"; }
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  if [[ "${KEEP:-0}" == "1" ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() {
  say "FAILED: $*"
  if [[ -f "$LOG" ]]; then say "server log (last 40 lines):"; tail -n 40 "$LOG" || true; fi
  exit 1
}

START=$(date +%s)
mkdir -p "$CTX" "$RUNTIME" "$DATA"

# 1. The build context, filtered by .dockerignore with Docker's rules: patterns anchored at the
#    root, `*` and `?` within one path segment, `**` across segments, a pattern matching a
#    directory excludes everything below it, `!` re-includes, the last matching pattern wins.
say "copying the build context (honouring .dockerignore) to $CTX"
node --input-type=module - "$ROOT" "$CTX" <<'JS'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const [root, dest] = process.argv.slice(2);
const rules = existsSync(join(root, '.dockerignore'))
  ? readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  : [];
const toRegex = (pattern) => {
  let src = '';
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*') {
      i++;
      if (p[i + 1] === '/') { i++; src += '(?:.*/)?'; } else src += '.*';
    } else if (c === '*') src += '[^/]*';
    else if (c === '?') src += '[^/]';
    else src += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${src}$`);
};
const compiled = rules.map((r) => (r.startsWith('!') ? { keep: true, re: toRegex(r.slice(1)) } : { keep: false, re: toRegex(r) }));
const excluded = (rel) => {
  let out = false;
  const parts = rel.split('/');
  for (const { keep, re } of compiled) {
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join('/'))) { out = !keep; break; }
    }
  }
  return out;
};
let files = 0;
const walk = (rel) => {
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) walk(path);
    else if (!excluded(path)) {
      mkdirSync(dirname(join(dest, path)), { recursive: true });
      cpSync(join(root, path), join(dest, path));
      files++;
    }
  }
};
walk('');
console.log(`[container-check] ${files} files in the context`);
JS

# 2. The build stage's npm commands, exactly as the Dockerfile writes them (first stage only).
mapfile -t BUILD_CMDS < <(awk '/^FROM /{stage++} stage==1 && /^RUN npm /{sub(/^RUN /, ""); print}' "$ROOT/Dockerfile")
[[ ${#BUILD_CMDS[@]} -ge 3 ]] || fail "expected npm ci, build and prune RUN lines in the Dockerfile's build stage"
for cmd in "${BUILD_CMDS[@]}"; do
  say "RUN $cmd"
  t0=$(date +%s)
  (cd "$CTX" && bash -c "$cmd") >"$WORK/step.log" 2>&1 || { tail -n 40 "$WORK/step.log"; fail "RUN $cmd"; }
  say "  ok in $(($(date +%s) - t0)) s"
done

# 3. The runtime stage: only what its COPY --from=build lines take.
while read -r src dst; do
  rel="${src#/app/}"
  [[ -e "$CTX/$rel" ]] || fail "COPY --from=build $src: not produced by the build stage"
  mkdir -p "$(dirname "$RUNTIME/${dst#./}")"
  cp -a "$CTX/$rel" "$RUNTIME/${dst#./}"
done < <(awk '/^COPY --from=build /{print $3, $4}' "$ROOT/Dockerfile")
rm -rf "$CTX/node_modules" # nothing below may reach the build stage's modules by accident

# 4. Start it as CMD would, from the runtime directory.
CMD_JSON=$(awk '/^CMD \[/{sub(/^CMD /, ""); print}' "$ROOT/Dockerfile" | tail -n 1)
mapfile -t CMD < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$CMD_JSON")
HEALTH_JSON=$(awk '/^HEALTHCHECK /{h=1} h && /CMD \[/{sub(/^.*CMD /, ""); print; exit}' "$ROOT/Dockerfile")
mapfile -t HEALTH < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$HEALTH_JSON")
PORT=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
BASE="http://127.0.0.1:$PORT"
say "starting: ${CMD[*]} (PORT=$PORT, DATA_DIR=$DATA)"
(cd "$RUNTIME" && exec env NODE_ENV=production HOST=127.0.0.1 PORT="$PORT" DATA_DIR="$DATA" WORKERS=1 \
  SHUTDOWN_GRACE_S=5 "${CMD[@]}") >"$LOG" 2>&1 &
SERVER_PID=$!

# node's fetch, because the slim image (and a fresh CI machine) may have no curl.
http() { # METHOD PATH [BODY] → prints "STATUS BODY"
  node -e '
    const [method, url, body] = process.argv.slice(1);
    fetch(url, { method, headers: body ? { "content-type": "application/json" } : {}, body: body || undefined })
      .then(async (r) => console.log(r.status, await r.text()))
      .catch(() => console.log(0, ""));' "$1" "$BASE$2" "${3:-}"
}

ready=""
for _ in $(seq 1 120); do
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited before it was ready"
  if [[ "$(http GET /readyz | cut -d' ' -f1)" == "200" ]]; then ready=1; break; fi
  sleep 0.5
done
[[ -n "$ready" ]] || fail "/readyz did not answer 200 within 60 s"
say "/readyz 200 after $(($(date +%s) - START)) s in all"

PORT="$PORT" "${HEALTH[@]}" || fail "the HEALTHCHECK command exited non-zero"
say "HEALTHCHECK command exits 0"

SPEC='{"name":"container-check","network":{"kind":"linear","depth":3,"width":2,"init":{"scheme":"scaled-identity","gain":1.5}},"training":{"steps":20,"batchSize":8,"learningRate":0.001}}'
read -r status body < <(http POST /v1/jobs "$SPEC")
[[ "$status" == "202" ]] || fail "POST /v1/jobs answered $status: $body"
JOB_ID=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$body")
say "submitted job $JOB_ID"
final=""
for _ in $(seq 1 120); do
  read -r status body < <(http GET "/v1/jobs/$JOB_ID")
  [[ "$status" == "200" ]] || fail "GET /v1/jobs/$JOB_ID answered $status"
  final=$(node -e 'console.log(JSON.parse(process.argv[1]).status)' "$body")
  [[ "$final" == "queued" || "$final" == "running" ]] || break
  sleep 0.25
done
[[ "$final" == "succeeded" ]] || fail "job ended as '$final'"
read -r status body < <(http GET "/v1/jobs/$JOB_ID/result")
[[ "$status" == "200" ]] || fail "GET result answered $status"
steps=$(node -e 'console.log(JSON.parse(process.argv[1]).series.steps.length)' "$body")
[[ "$steps" == "20" ]] || fail "result has $steps recorded steps, expected 20"
say "job succeeded, result has $steps steps"

kill -TERM "$SERVER_PID"
set +e
wait "$SERVER_PID"
rc=$?
set -e
SERVER_PID=""
[[ "$rc" == "0" ]] || fail "exit code $rc after SIGTERM"
say "SIGTERM → exit 0"
say "OK in $(($(date +%s) - START)) s"
