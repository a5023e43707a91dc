/**
 * Tokens → AST. A statement is the words of one logical line up to a brace; a `{`
 * right after a statement (same line or the next) opens that statement's block.
 *
 * Unbalanced braces are errors (keepalived silently mis-parses them). To say *where*
 * the '}' is missing, the parser (a) closes every open block when a top-level-only
 * block such as `vrrp_instance` starts inside another block, and (b) when blocks are
 * still open at the end, looks for the first line whose indentation puts it outside
 * the block it was parsed into.
 */
import { DiagnosticBag, type SourceLocation } from './diagnostics.js';
import { isRootKeyword, ROOT_ONLY_BLOCKS } from './keywords.js';
import type { Token } from './lexer.js';

export interface AstNode {
  /** The statement's first word. */
  readonly keyword: Token;
  /** The other words of the statement. */
  readonly args: readonly Token[];
  /** The statement's { } block, null when it has none. */
  children: AstNode[] | null;
  /** Where the block's '{' is. */
  open: SourceLocation | null;
  /** Where the block's '}' is (null when it was never closed). */
  close: SourceLocation | null;
}

interface Frame {
  readonly node: AstNode | null; // null: the top level, or a stray '{' block
  readonly children: AstNode[];
  readonly depth: number;
}

function describe(n: AstNode): string {
  const name = n.args.length > 0 && n.args[0] !== undefined ? ` ${n.args[0].text}` : '';
  return `'${n.keyword.text}${name}'`;
}

/**
 * The first statement, in document order inside `root`, whose indentation is not
 * deeper than the block that contains it: that is where the block should have ended.
 */
function misplacedLine(root: AstNode): { block: AstNode; at: AstNode } | null {
  const visit = (n: AstNode): { block: AstNode; at: AstNode } | null => {
    if (n.children === null) return null;
    for (const c of n.children) {
      if (c.keyword.loc.file === n.keyword.loc.file && c.keyword.loc.line > n.keyword.loc.line && c.keyword.loc.col <= n.keyword.loc.col) {
        return { block: n, at: c };
      }
      const inner = visit(c);
      if (inner !== null) return inner;
    }
    return null;
  };
  return visit(root);
}

export function parse(tokens: readonly Token[], diags: DiagnosticBag): AstNode[] {
  const root: Frame = { node: null, children: [], depth: 0 };
  const stack: Frame[] = [root];
  let last: AstNode | null = null; // a statement without block that a '{' may still open
  const top = (): Frame => stack[stack.length - 1] ?? root;

  const hinted = new Set<AstNode>();
  const reportUnclosed = (frame: Frame, before: AstNode | null): void => {
    const n = frame.node;
    if (n === null) return; // a stray '{' was already reported
    const hint = misplacedLine(n);
    if (hint !== null && !hinted.has(hint.block)) {
      hinted.add(hint.block);
      diags.error(
        hint.at.keyword.loc,
        `missing '}': the block of ${describe(hint.block)} (opened at line ${hint.block.open?.line ?? hint.block.keyword.loc.line}) should end before this line`,
      );
    } else if (before !== null) {
      diags.error(before.keyword.loc, `missing '}': the block of ${describe(n)} (opened at line ${n.open?.line ?? n.keyword.loc.line}) is not closed before ${describe(before)}`);
    } else {
      diags.error(n.open ?? n.keyword.loc, `missing '}': the block of ${describe(n)} opened here is never closed`);
    }
  };

  let i = 0;
  while (i < tokens.length) {
    const tok = tokens[i] as Token;
    if (tok.kind === 'open') {
      if (last !== null && last.children === null) {
        last.children = [];
        last.open = tok.loc;
        stack.push({ node: last, children: last.children, depth: stack.length });
      } else {
        diags.error(tok.loc, "unexpected '{': there is no keyword before it");
        stack.push({ node: null, children: [], depth: stack.length });
      }
      last = null;
      i++;
      continue;
    }
    if (tok.kind === 'close') {
      if (stack.length > 1) {
        const f = stack.pop() as Frame;
        if (f.node !== null) f.node.close = tok.loc;
      } else {
        // A '}' too many usually closed a block early, and that block's body spilled to
        // the top level: point at the early '}' when a non-top-level keyword follows it.
        const kids = root.children;
        let early: { block: AstNode; spilled: AstNode } | null = null;
        for (let k = kids.length - 1; k >= 0; k--) {
          const n = kids[k] as AstNode;
          if (n.children !== null && isRootKeyword(n.keyword.text)) {
            const spilled = kids.slice(k + 1).find((s) => !isRootKeyword(s.keyword.text));
            if (spilled !== undefined && n.close !== null) early = { block: n, spilled };
            break;
          }
        }
        if (early !== null && early.block.close !== null) {
          diags.error(
            early.block.close,
            `unexpected '}': this '}' closes ${describe(early.block)} too early ('${early.spilled.keyword.text}' at line ${early.spilled.keyword.loc.line} belongs inside it), so the '}' at line ${tok.loc.line} has no block to close`,
          );
        } else {
          diags.error(tok.loc, "unexpected '}': no block is open");
        }
      }
      last = null;
      i++;
      continue;
    }
    // A statement: words up to the end of the logical line or a brace.
    const words: Token[] = [tok];
    let j = i + 1;
    while (j < tokens.length) {
      const t = tokens[j] as Token;
      if (t.kind !== 'word' || t.line !== tok.line) break;
      words.push(t);
      j++;
    }
    const node: AstNode = { keyword: tok, args: words.slice(1), children: null, open: null, close: null };
    const next = tokens[j];
    if (stack.length > 1 && next?.kind === 'open' && ROOT_ONLY_BLOCKS.has(tok.text)) {
      // A top-level block inside another block: the '}'s before it are missing.
      while (stack.length > 1) reportUnclosed(stack.pop() as Frame, node);
    }
    top().children.push(node);
    last = node;
    i = j;
  }
  while (stack.length > 1) reportUnclosed(stack.pop() as Frame, null);
  return root.children;
}
