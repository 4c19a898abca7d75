#!/usr/bin/env bash
# Builds the Dockerfile for real and smoke-tests the image, without a Docker engine: Debian's
# buildah as root, vfs storage, chroot isolation, host network.
#
#   1. the base image the FROM lines name (node:24-bookworm-slim), assembled locally by
#      scripts/container-base.sh when this machine does not have it yet (no registry serves
#      images here), reused when it does;
#   2. `buildah bud --pull=never --format docker` of the Dockerfile (docker format: the OCI format
#      drops HEALTHCHECK);
#   3. the image started with its own CMD, user, working directory and environment, then:
#      /readyz answers 200; the HEALTHCHECK command read from the image runs inside the container
#      and exits 0; the server process runs as uid 1000; /data is a mount of its own (the image's
#      VOLUME) and the SQLite store (jobs.db) is in it, owned by uid 1000; a job submitted over
#      HTTP succeeds and its result reads back; SIGTERM → exit 0; started again, the container
#      serves the same job's result byte for byte from the volume.
#
# Without root or buildah it prints SKIP and exits 0, unless GL_REQUIRE_CONTAINER=1 (.ci/run sets
# it: CI always runs the real build). KEEP=1 keeps the image and the container for inspection;
# GL_CHECK_IMAGE=<image> skips the build and smoke-tests that image.
# Usage: bash scripts/container-check.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
say() { printf '[container-check] %s\n' "$*" >&2; }
B() { buildah --storage-driver vfs "$@"; }

if [[ "$(id -u)" != "0" ]] || ! command -v buildah >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  reason="the real image build needs root, buildah and debootstrap (apt-get install buildah debootstrap)"
  if [[ "${GL_REQUIRE_CONTAINER:-0}" == "1" ]]; then
    say "FAILED: $reason"
    exit 1
  fi
  say "SKIP: $reason; nothing was checked"
  exit 0
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gl-container-check.XXXXXX")"
IMAGE="localhost/gradient-lab:check-$$"
CTR=""
RUN_PID=""
KEEP_IMAGE=0
LOG="$WORK/server.log"
cleanup() {
  # A failed check leaves the server running: the processes `buildah run` started do not die
  # with it, so kill them one by one, by pid.
  if [[ -n "$RUN_PID" ]] && kill -0 "$RUN_PID" 2>/dev/null; then
    for pid in $(descendants "$RUN_PID") "$RUN_PID"; do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  if [[ "${KEEP:-0}" == "1" ]]; then
    say "kept image $IMAGE, container $CTR, logs in $WORK"
  else
    if [[ -n "$CTR" ]]; then B rm "$CTR" >/dev/null 2>&1 || true; fi
    if [[ "$KEEP_IMAGE" != "1" ]]; then B rmi "$IMAGE" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
fail() {
  say "FAILED: $*"
  if [[ -s "$LOG" ]]; then say "server log (last 30 lines):"; tail -n 30 "$LOG" >&2 || true; fi
  exit 1
}
now() { date +%s; }
T0=$(now)

# 1. The base image.
bash "$ROOT/scripts/container-base.sh" >/dev/null
T1=$(now)

# 2. The build (GL_CHECK_IMAGE=<name> smoke-tests an image built before instead, and keeps it).
if [[ -n "${GL_CHECK_IMAGE:-}" ]]; then
  IMAGE="$GL_CHECK_IMAGE"
  KEEP_IMAGE=1
  say "smoke-testing $IMAGE (not rebuilt)"
else
  say "buildah bud (log: $WORK/bud.log)"
  B bud --isolation chroot --pull=never --network host --format docker --layers=false \
    -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >"$WORK/bud.log" 2>&1 || {
    tail -n 40 "$WORK/bud.log" >&2
    fail "buildah bud"
  }
fi
T2=$(now)
say "  built $IMAGE in $((T2 - T1)) s"

# The image's Docker config (buildah 1.28's --format has no json function: read the whole JSON).
B inspect --type image "$IMAGE" >"$WORK/inspect.json"
conf() { # FIELD → its JSON array, one element a line; or its scalar value
  node -e '
    const j = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const c = (j.Docker && (j.Docker.config || j.Docker.Config)) || {};
    const v = process.argv[2].split(".").reduce((o, k) => (o == null ? o : o[k]), c);
    if (Array.isArray(v)) for (const a of v) console.log(a);
    else if (v && typeof v === "object") console.log(JSON.stringify(v));
    else if (v != null) console.log(v);' "$WORK/inspect.json" "$1"
}
mapfile -t CMD < <(conf Cmd)
mapfile -t HEALTH < <(conf Healthcheck.Test)
USER_NAME="$(conf User)"
VOLUMES="$(conf Volumes)"
((${#CMD[@]} > 0)) || fail "the image has no CMD"
[[ "${HEALTH[0]:-}" == "CMD" && ${#HEALTH[@]} -gt 1 ]] || fail "the image has no exec-form HEALTHCHECK (got: ${HEALTH[*]:-none})"
[[ -n "$USER_NAME" && "$USER_NAME" != "root" && "$USER_NAME" != "0" ]] || fail "the image runs as root"
[[ "$VOLUMES" == *'"/data"'* ]] || fail "the image declares no /data volume ($VOLUMES)"
say "image: CMD ${CMD[*]}; USER $USER_NAME; VOLUME /data; HEALTHCHECK ${HEALTH[*]:1:2} …"

# 3. Start it: the image's CMD, user, workdir and environment; only the address is ours.
PORT=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
BASE="http://127.0.0.1:$PORT"
CTR="$(B from --pull-never "$IMAGE")"
start() {
  B run --isolation chroot --network host --env HOST=127.0.0.1 --env PORT="$PORT" --env WORKERS=1 \
    --env SHUTDOWN_GRACE_S=5 "$CTR" -- "${CMD[@]}" >>"$LOG" 2>&1 &
  RUN_PID=$!
}
# node's fetch: a fresh machine may have no curl.
http() { # METHOD PATH [BODY] → "STATUS BODY"
  node -e '
    const [method, url, body] = process.argv.slice(1);
    fetch(url, { method, headers: body ? { "content-type": "application/json" } : {}, body: body || undefined })
      .then(async (r) => console.log(r.status, await r.text()))
      .catch(() => console.log(0, ""));' "$1" "$BASE$2" "${3:-}"
}
wait_ready() {
  for _ in $(seq 1 240); do
    kill -0 "$RUN_PID" 2>/dev/null || fail "the container exited before it was ready"
    if [[ "$(http GET /readyz | cut -d' ' -f1)" == "200" ]]; then return 0; fi
    sleep 0.25
  done
  fail "/readyz did not answer 200 within 60 s"
}
# Every process below `buildah run` (buildah-chroot-runtime → buildah-chroot-exec → the CMD).
descendants() {
  local queue=("$1") pid child
  while ((${#queue[@]})); do
    pid="${queue[0]}"
    queue=("${queue[@]:1}")
    for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
      echo "$child"
      queue+=("$child")
    done
  done
}
# The server: the first of them whose argv[0] is the CMD's program (Node names its main thread
# "MainThread", so /proc/<pid>/comm does not say "node").
server_pid() {
  local pid arg0
  for pid in $(descendants "$RUN_PID"); do
    arg0="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1)"
    if [[ "${arg0##*/}" == "${CMD[0]##*/}" ]]; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}
stop() { # SIGTERM to the server process; `buildah run` exits with the server's code → $rc
  local pid
  pid="$(server_pid)" || fail "no server process under buildah run"
  kill -TERM "$pid"
  set +e
  wait "$RUN_PID"
  rc=$?
  set -e
  RUN_PID=""
}

start
wait_ready
T3=$(now)
say "/readyz 200, $((T3 - T2)) s after the build"

B run --isolation chroot --network host --env PORT="$PORT" "$CTR" -- "${HEALTH[@]:1}" >>"$WORK/health.log" 2>&1 ||
  fail "the HEALTHCHECK command exited non-zero in the container: $(cat "$WORK/health.log")"
say "HEALTHCHECK command, run in the container, exits 0"

SERVER="$(server_pid)" || fail "no server process under buildah run"
uid="$(awk '/^Uid:/{print $2}' "/proc/$SERVER/status")"
[[ "$uid" == "1000" ]] || fail "the server runs as uid $uid, expected 1000"
say "the server (pid $SERVER) runs as uid $uid"

SPEC='{"name":"container-check","network":{"kind":"linear","depth":3,"width":2,"init":{"scheme":"scaled-identity","gain":1.5}},"training":{"steps":20,"batchSize":8,"learningRate":0.001}}'
read -r status body < <(http POST /v1/jobs "$SPEC")
[[ "$status" == "202" ]] || fail "POST /v1/jobs answered $status: $body"
JOB_ID=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$body")
final=""
for _ in $(seq 1 240); do
  read -r status body < <(http GET "/v1/jobs/$JOB_ID")
  [[ "$status" == "200" ]] || fail "GET /v1/jobs/$JOB_ID answered $status"
  final=$(node -e 'console.log(JSON.parse(process.argv[1]).status)' "$body")
  [[ "$final" == "queued" || "$final" == "running" ]] || break
  sleep 0.25
done
[[ "$final" == "succeeded" ]] || fail "job $JOB_ID ended as '$final'"
read -r status RESULT < <(http GET "/v1/jobs/$JOB_ID/result")
[[ "$status" == "200" ]] || fail "GET /v1/jobs/$JOB_ID/result answered $status"
steps=$(node -e 'console.log(JSON.parse(process.argv[1]).series.steps.length)' "$RESULT")
[[ "$steps" == "20" ]] || fail "the result has $steps recorded steps, expected 20"
say "job $JOB_ID succeeded; its result has $steps steps"

# The store is on the volume: /data, as the server sees it (its root, its mount namespace), is a
# mount point of its own, and jobs.db is there, written by uid 1000. (`buildah run -v host:/data`
# would be shadowed by the image's own VOLUME, so look from the process instead.)
awk '$5 == "/data" {found=1} END {exit !found}' "/proc/$SERVER/mountinfo" || fail "/data is not a mount point in the container"
DB="/proc/$SERVER/root/data/jobs.db"
[[ -f "$DB" ]] || fail "no jobs.db in the container's /data ($(ls -A "/proc/$SERVER/root/data" 2>&1 | tr '\n' ' '))"
owner="$(stat -c %u "$DB")"
[[ "$owner" == "1000" ]] || fail "/data/jobs.db is owned by uid $owner, expected 1000"
[[ ! -e "$(B mount "$CTR")/data/jobs.db" ]] || fail "jobs.db landed in the container's own file system, not in the volume"
B umount "$CTR" >/dev/null
say "/data is the volume's mount; jobs.db is in it ($(stat -c %s "$DB") bytes, uid $owner)"

stop
[[ "$rc" == "0" ]] || fail "exit code $rc after SIGTERM"
say "SIGTERM → exit 0"

# Started again, the same container (the same volume) serves the job as it was.
start
wait_ready
read -r status again < <(http GET "/v1/jobs/$JOB_ID/result")
[[ "$status" == "200" && "$again" == "$RESULT" ]] || fail "after a restart the job's result differs or is gone ($status)"
stop
[[ "$rc" == "0" ]] || fail "exit code $rc after the second SIGTERM"
T4=$(now)
say "restarted: the same result, byte for byte, from the volume; SIGTERM → exit 0"
say "OK in $((T4 - T0)) s: base $((T1 - T0)) s, build $((T2 - T1)) s, smoke $((T4 - T2)) s"
