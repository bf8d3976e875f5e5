# belair's API. Built by docker-compose.yml (service api); runs `npm start`, which creates the
# database if needed, applies sql/ and serves GraphQL on PORT (4000).
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so that a change to the sources does not reinstall them. The API runs its
# TypeScript through tsx, a runtime dependency: development tools are left out.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
# The page at / (web/ bundled into web/dist/), built while the files still belong to root: the
# API, running as node, then finds it up to date.
RUN npm run build:dashboard

USER node
EXPOSE 4000
CMD ["npm", "start"]
