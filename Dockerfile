# syntax=docker/dockerfile:1

# hookrelay runs its TypeScript sources directly with Node 24's built-in type stripping, so there is
# no compile step: the build stage only installs the production dependencies. The `node` npm package
# (which brings Node 24 to development machines) is a devDependency and is left out; the image's own
# Node 24 runs the relay.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production \
    HOOKRELAY_CONFIG=/etc/hookrelay/hookrelay.yaml
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY config ./config
# The out-of-the-box example as the default; mount your own file over it:
#   docker run -v "$PWD/hookrelay.yaml:/etc/hookrelay/hookrelay.yaml:ro" ...
COPY config/hookrelay.yaml /etc/hookrelay/hookrelay.yaml

USER node
EXPOSE 8080
# slim has no curl: ask Node itself. Set PORT when your config listens on another port.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# hookrelay drains in-flight requests on SIGTERM for server.shutdownGrace (10s by default); give
# `docker stop` a longer --stop-timeout when you raise it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "src/main.ts"]
CMD ["start"]
