/**
 * The control socket speaks JSON lines: one request object per line, one response
 * object per line, in order. Requests: `{"cmd":"status"}`, `{"cmd":"stats"}`,
 * `{"cmd":"reload"}`. Responses: `{"ok":true,"data":…}` or `{"ok":false,"error":{code,message}}`.
 */
export const CONTROL_COMMANDS = ['status', 'stats', 'reload'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export interface ControlRequest {
  readonly cmd: ControlCommand;
}

export type ControlResponse =
  | { readonly ok: true; readonly data: unknown }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** A request line longer than this is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 4096;

export function parseRequest(line: string): ControlRequest | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'request is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'request must be a JSON object' };
  }
  const cmd = (value as { cmd?: unknown }).cmd;
  if (typeof cmd !== 'string' || !(CONTROL_COMMANDS as readonly string[]).includes(cmd)) {
    return { error: `unknown command ${JSON.stringify(cmd)}; expected one of ${CONTROL_COMMANDS.join(', ')}` };
  }
  return { cmd: cmd as ControlCommand };
}
