# syntax=docker/dockerfile:1
# Golden Path IDP portal image (backend serving the built frontend).
#   docker build --platform linux/amd64 -t golden-path-idp .
# Runs with app-config.production.yaml alone; every setting comes from an
# environment variable (see README "Production").

ARG NODE_IMAGE=node:22-bookworm-slim

# 1. Build: install everything, type-check, build the frontend and the backend bundle.
FROM --platform=linux/amd64 ${NODE_IMAGE} AS build
RUN apt-get update && \
    apt-get install -y --no-install-recommends python3 g++ make && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY .yarnrc.yml package.json yarn.lock backstage.json tsconfig.json ./
COPY .yarn/releases ./.yarn/releases
COPY packages ./packages
COPY plugins ./plugins
RUN node .yarn/releases/yarn-4.13.0.cjs install --immutable
COPY app-config.yaml app-config.production.yaml roles.yaml ./
RUN node .yarn/releases/yarn-4.13.0.cjs tsc && \
    node .yarn/releases/yarn-4.13.0.cjs workspace app build && \
    node .yarn/releases/yarn-4.13.0.cjs build:backend

# 2. Production dependencies only, from the package skeleton of the build.
FROM --platform=linux/amd64 ${NODE_IMAGE} AS deps
RUN apt-get update && \
    apt-get install -y --no-install-recommends python3 g++ make && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY .yarnrc.yml package.json yarn.lock backstage.json ./
COPY .yarn/releases ./.yarn/releases
COPY --from=build /app/packages/backend/dist/skeleton.tar.gz ./
RUN tar xzf skeleton.tar.gz && rm skeleton.tar.gz && \
    node .yarn/releases/yarn-4.13.0.cjs workspaces focus --all --production && \
    rm -rf "$(node .yarn/releases/yarn-4.13.0.cjs cache clean)"

# 3. Runtime: slim Node 22, production dependencies, the bundle, non-root.
FROM --platform=linux/amd64 ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=node:node /app ./
COPY --from=build --chown=node:node /app/packages/backend/dist/bundle.tar.gz ./
RUN tar xzf bundle.tar.gz && rm bundle.tar.gz
COPY --chown=node:node app-config.production.yaml roles.yaml ./
COPY --chown=node:node templates ./templates
USER node
EXPOSE 7007
CMD ["node", "packages/backend", "--config", "app-config.production.yaml"]
