# belair's API. Built by docker-compose.yml (services migrate, api, feed and generator). Compiles
# the TypeScript and bundles the dashboard in a build stage; the image holds the compiled dist/,
# the dashboard's web/dist/, sql/ and the runtime dependencies only (tsx and the other development
# tools stay in the build stage).
FROM node:20-bookworm-slim AS build

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build

FROM node:20-bookworm-slim

WORKDIR /app
# Production mode: GraphiQL and introspection off unless asked for, API_TOKENS required (32
# characters at least), and the API does not migrate at start (MIGRATE_ON_START):
# `node dist/cli/migrate.js` does, as an operator's step, so that the API's own database user
# needs no DDL rights. The API serves the dashboard as built here and builds nothing at start.
ENV NODE_ENV=production

# Dependencies first, so that a change to the sources does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY sql ./sql
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist

USER node
EXPOSE 4000
# node itself, not npm: SIGTERM from `docker stop` reaches the API, which finishes the requests
# in flight and closes its pool before it exits.
CMD ["node", "dist/cli/serve.js"]
