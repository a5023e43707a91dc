/**
 * One error type for the whole daemon, each with a stable `code` so callers and
 * tests match on the code, never on the message. Messages name the rule and the
 * value ("must be 1..255, got 300").
 */
export type VipdErrorCode =
  | 'ECONFIG' // the configuration was refused (diagnostics attached)
  | 'ENETLINK' // the kernel refused an rtnetlink request
  | 'ESOCKET' // a raw socket could not be opened or configured
  | 'ENATIVE' // the in-tree native addon is missing or failed
  | 'ECONTROL' // a control-socket request was malformed or failed
  | 'ESCRIPT' // a tracker or notify script could not be run
  | 'EUSAGE'; // bad command-line usage

export class VipdError extends Error {
  readonly code: VipdErrorCode;
  constructor(code: VipdErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VipdError';
    this.code = code;
  }
}

export function isVipdError(err: unknown, code?: VipdErrorCode): err is VipdError {
  return err instanceof VipdError && (code === undefined || err.code === code);
}
