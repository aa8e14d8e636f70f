# The Sailfin image: one image for the control plane (`sailfin discovery`), the injected sidecar
# (`sailfin proxy`), its capture init container (`sailfin iptables`) and the gateways; it also runs
# the sample apps (`sailfin-sample`), so tagging it sailfin/samples:0.1.0 serves samples/bookinfo.
#   docker build -t sailfin:latest .
# The build stage needs the compilers (TypeScript, node-gyp for the SO_ORIGINAL_DST addon); the
# runtime stage gets production dependencies only, plus the compiled output, plus iptables.

FROM node:20-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN node scripts/build-native.mjs && npm run build

FROM node:20-slim
# iptables for the istio-init container; the nft backend is Debian's default, the legacy one is
# what older kernels/CNIs expect: both are installed, `update-alternatives` picks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile again, and the compilers are not in this stage.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/samples ./dist/samples
COPY --from=build /app/native/build ./native/build
# The Envoy schema as a prebuilt descriptor (src/xds/protos.ts reads it from the source tree; without it
# every proxy parses the .proto files at start and holds about 2 MB more heap).
COPY src/xds/envoy-descriptor.json ./src/xds/envoy-descriptor.json
COPY bin ./bin
COPY samples ./samples
RUN ln -s /app/bin/sailfin /usr/local/bin/sailfin && ln -s /app/bin/sailfin-sample /usr/local/bin/sailfin-sample \
 && groupadd -g 1337 istio-proxy && useradd -u 1337 -g 1337 -M -s /usr/sbin/nologin istio-proxy
# The proxy and control plane run as 1337 (their Deployments say so); istio-init runs as root.
USER 1337:1337
ENTRYPOINT ["sailfin"]
CMD ["--help"]
