# Gradient Lab as a container, on Node.js 24 LTS (.node-version pins the exact release CI runs).
# Two stages: the build stage compiles better-sqlite3 and the TypeScript, then drops the dev
# dependencies; the runtime stage holds only what runs, as a non-root user, with the job store on
# the /data volume.
#
# CI builds this file for real with buildah and starts the image (scripts/container-check.sh; see
# docs/ops.md, "Docker and compose").

FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when its prebuilt binary cannot be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The committed .npmrc points node-gyp at Debian's headers (nodedir=/usr); the official image keeps
# Node and its headers under /usr/local, and an environment variable outranks a project .npmrc.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json .npmrc ./
# npm can print "Exit handler never called!" and exit 0 with a partial node_modules: check that
# the compiler and the native module it built are really there before going on.
RUN npm ci --no-audit --no-fund \
 && test -x node_modules/.bin/tsc \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"
COPY . .
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/public ./public
RUN mkdir -p /data && chown node:node /data
# The official image's unprivileged user (uid 1000).
USER node
VOLUME ["/data"]
EXPOSE 8080
# No curl in the slim image: Node's fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM starts the graceful shutdown (drain, SHUTDOWN_GRACE_S for running jobs, exit 0).
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
