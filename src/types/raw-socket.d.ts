// Ambient typings for raw-socket 1.8 (CommonJS, no bundled types): the part vipd uses.
declare module 'raw-socket' {
  import type { EventEmitter } from 'node:events';

  export interface SocketOptions {
    protocol?: number;
    /** AddressFamily.IPv4 (default) or AddressFamily.IPv6 */
    addressFamily?: number;
    /** receive buffer size in bytes (default 4096) */
    bufferSize?: number;
  }

  export type SendCallback = (error: Error | null, bytes: number) => void;

  export interface Socket extends EventEmitter {
    close(): this;
    setOption(level: number, option: number, value: number): void;
    setOption(level: number, option: number, value: Buffer, length: number): void;
    getOption(level: number, option: number, value: Buffer, length: number): number;
    /** Queued until the socket is writable; the callback gets the error of sendto(), if any. */
    send(buffer: Buffer, offset: number, length: number, address: string, afterCallback: SendCallback): this;
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      address: string,
      beforeCallback: () => void,
      afterCallback: SendCallback,
    ): this;
    pauseRecv(): this;
    resumeRecv(): this;
    pauseSend(): this;
    resumeSend(): this;
    /** `buffer` is a view of the socket's single receive buffer: copy it to keep it. */
    on(event: 'message', listener: (buffer: Buffer, source: string) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'close', listener: () => void): this;
  }

  export function createSocket(options?: SocketOptions): Socket;

  export const AddressFamily: { readonly IPv4: 1; readonly IPv6: 2 };
  export const SocketLevel: { readonly SOL_SOCKET: number; readonly IPPROTO_IP: number; readonly IPPROTO_IPV6: number };
  export const SocketOption: {
    readonly SO_BROADCAST: number;
    readonly SO_RCVBUF: number;
    readonly SO_SNDBUF: number;
    readonly SO_BINDTODEVICE: number;
    readonly IP_HDRINCL: number;
    readonly IP_OPTIONS: number;
    readonly IP_TOS: number;
    readonly IP_TTL: number;
    readonly IPV6_TTL: number;
    readonly IPV6_UNICAST_HOPS: number;
    readonly IPV6_V6ONLY: number;
  };
}
