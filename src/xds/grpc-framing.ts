/**
 * gRPC frames every message it writes (a flag byte and a 4-byte length) by allocating a new buffer and
 * copying the serialized message into it. For a response written to hundreds of streams (a route table
 * of several hundred KB in every sidecar's push) that is one allocation and copy per stream, and the
 * garbage collection of all of them. A response can instead carry its complete frame, built once
 * (push-round.ts): grpc-js' server-side framing step is taught to hand that Buffer to HTTP/2 as it is.
 *
 * This reaches into grpc-js (BaseServerInterceptingCall.serializeMessage in 1.14). If a
 * future version moves it, nothing breaks: the response is then serialized by its codec and copied as
 * before (ads-service.ts), and test/xds/push-round.test.ts fails to say the shortcut is gone.
 */
import { createRequire } from 'node:module';

/** On a response passed to call.write(): the whole gRPC frame of the message, written by reference. */
export const PRE_FRAMED = Symbol('preFramed');

/** `message` as a gRPC length-prefixed frame (uncompressed), with the message as a view into it. */
export function frameMessage(parts: readonly Uint8Array[]): { frame: Buffer; message: Buffer } {
  let length = 0;
  for (const p of parts) length += p.length;
  const frame = Buffer.allocUnsafe(5 + length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(length, 1);
  let at = 5;
  for (const p of parts) {
    frame.set(p, at);
    at += p.length;
  }
  return { frame, message: frame.subarray(5) };
}

type Serialize = (this: unknown, value: unknown) => Buffer;
let installed: boolean | undefined;

/** Let pre-framed responses through grpc-js' server framing; true when the shortcut is in place. */
export function installPreFramedWrites(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@grpc/grpc-js/build/src/server-interceptors.js') as { BaseServerInterceptingCall?: { prototype: { serializeMessage?: Serialize } } };
    const proto = mod.BaseServerInterceptingCall?.prototype;
    const original = proto?.serializeMessage;
    if (!proto || typeof original !== 'function') return false;
    proto.serializeMessage = function (this: unknown, value: unknown): Buffer {
      const framed = value !== null && typeof value === 'object' ? (value as { [PRE_FRAMED]?: Buffer })[PRE_FRAMED] : undefined;
      return framed ?? original.call(this, value);
    };
    installed = true;
  } catch {
    // Another layout of grpc-js: responses take the ordinary path.
  }
  return installed;
}
