# vault-extproc image: build with the dev toolchain, run with production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# Our own protobuf schema (the fleet's Redis records and events), read at run time.
COPY proto ./proto
# The ext_proc unix socket's directory (a volume shared with Envoy in docker-compose.yml), owned by
# the user vault-extproc runs as: Docker copies this ownership into a new named volume.
RUN mkdir -p /run/vault-extproc && chown node:node /run/vault-extproc && chmod 0700 /run/vault-extproc
USER node
EXPOSE 9002
HEALTHCHECK --interval=5s --timeout=2s --retries=10 CMD node -e "fetch('http://127.0.0.1:9002/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/vault-extproc.js"]
CMD ["serve", "--config", "/etc/vault-extproc/config.hcl"]
