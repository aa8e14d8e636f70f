/**
 * Istio's certificate API (istio.v1.auth.IstioCertificateService), defined here rather than read
 * from a .proto file at run time so it always ships with the compiled code. Package, service,
 * message and field numbers are Istio's, so istio-agent-style clients speak to Sailfin unchanged.
 */
import protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';

const CA_PROTO = `
syntax = "proto3";
package istio.v1.auth;
import "google/protobuf/struct.proto";

message IstioCertificateRequest {
  // PEM-encoded PKCS#10 certificate request.
  string csr = 1;
  // Requested lifetime in seconds; 0 means the CA's default.
  int64 validity_duration = 3;
  google.protobuf.Struct metadata = 4;
}

message IstioCertificateResponse {
  // PEM certificates: the leaf first, then intermediates, the root (bundle) last.
  repeated string cert_chain = 1;
}

service IstioCertificateService {
  rpc CreateCertificate(IstioCertificateRequest) returns (IstioCertificateResponse);
}
`;

export const CA_SERVICE_NAME = 'istio.v1.auth.IstioCertificateService';
export const CREATE_CERTIFICATE_PATH = `/${CA_SERVICE_NAME}/CreateCertificate`;

export interface IstioCertificateRequest {
  csr: string;
  validity_duration: number;
  /** Decoded google.protobuf.Struct as plain JSON. */
  metadata: Record<string, unknown>;
}

export interface IstioCertificateResponse {
  cert_chain: string[];
}

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.addJSON(protobuf.common.get('google/protobuf/struct.proto')!.nested!);
  protobuf.parse(CA_PROTO, root, { keepCase: true });
  root.resolveAll();
  return root;
}

const root = buildRoot();
const RequestType = root.lookupType('istio.v1.auth.IstioCertificateRequest');
const ResponseType = root.lookupType('istio.v1.auth.IstioCertificateResponse');

/** google.protobuf.Value in protobufjs' object form. */
interface ValueObject {
  nullValue?: number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: { fields?: Record<string, ValueObject> };
  listValue?: { values?: ValueObject[] };
}

function valueToJson(v: ValueObject): unknown {
  if (v.structValue) return structToJson(v.structValue);
  if (v.listValue) return (v.listValue.values ?? []).map(valueToJson);
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return null;
}

function structToJson(s: { fields?: Record<string, ValueObject> } | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

function jsonToValue(v: unknown): ValueObject {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}

function jsonToStruct(obj: Record<string, unknown>): { fields: Record<string, ValueObject> } {
  const fields: Record<string, ValueObject> = {};
  for (const [k, v] of Object.entries(obj)) fields[k] = jsonToValue(v);
  return { fields };
}

function encodeRequest(req: IstioCertificateRequest): Buffer {
  const msg = RequestType.fromObject({ csr: req.csr, validity_duration: req.validity_duration, metadata: jsonToStruct(req.metadata ?? {}) });
  return Buffer.from(RequestType.encode(msg).finish());
}

function decodeRequest(buf: Buffer): IstioCertificateRequest {
  const msg = RequestType.decode(buf);
  const obj = RequestType.toObject(msg, { longs: Number, defaults: true }) as { csr: string; validity_duration: number; metadata?: unknown };
  return { csr: obj.csr, validity_duration: obj.validity_duration, metadata: structToJson(obj.metadata as { fields?: Record<string, ValueObject> } | undefined) };
}

function encodeResponse(res: IstioCertificateResponse): Buffer {
  return Buffer.from(ResponseType.encode(ResponseType.fromObject(res)).finish());
}

function decodeResponse(buf: Buffer): IstioCertificateResponse {
  const obj = ResponseType.toObject(ResponseType.decode(buf), { defaults: true }) as { cert_chain: string[] };
  return { cert_chain: obj.cert_chain };
}

/** The service definition @grpc/grpc-js needs, for both server (addService) and client (makeGenericClientConstructor). */
export const caServiceDefinition: grpc.ServiceDefinition = {
  CreateCertificate: {
    path: CREATE_CERTIFICATE_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
};
