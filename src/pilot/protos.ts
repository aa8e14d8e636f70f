/**
 * Typed configs the generators emit beyond the xDS core set, registered with the proto loader so the
 * ADS server can encode them (and tests can check generated JSON against the real Envoy messages).
 */
import { addProtoFiles } from '../xds/protos.js';

addProtoFiles([
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
]);
