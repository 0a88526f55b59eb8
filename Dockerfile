# syntax=docker/dockerfile:1

# hookrelay runs dist/, its TypeScript sources with the types stripped once by bin/build.js (Node's
# own type stripping, no compiler); the image builds it so the relay never strips at start. The
# deps stage only installs the production dependencies. The `node` npm package
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
RUN node bin/build.js
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
ENTRYPOINT ["node", "bin/hookrelay.js"]
CMD ["start"]
