/**
 * The checks Slack makes on a message's Block Kit before an incoming webhook posts it, as far as
 * the notifier's blocks use them. Limits from Slack's Block Kit reference (docs.slack.dev
 * "Blocks" and "Block elements"): at most 50 blocks; a header's text is plain_text of at most 150
 * characters; a section has text (at most 3,000) and/or fields (at most 10, each at most 2,000);
 * an actions block holds 1 to 25 elements; a button's text is plain_text of at most 75, its url at
 * most 3,000; a context block at most 10 elements. A webhook answers a message that breaks them
 * with HTTP 400 `invalid_blocks`, and blocks that are not a list with `invalid_blocks_format`
 * (Slack's incoming-webhook error codes).
 */
type Problem = string | undefined;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textObject(value: unknown, where: string, max: number, plainOnly = false): Problem {
  if (!isObject(value)) return `${where}: a text object is required`;
  if (value['type'] !== 'plain_text' && (plainOnly || value['type'] !== 'mrkdwn')) return `${where}: type must be ${plainOnly ? 'plain_text' : 'plain_text or mrkdwn'}`;
  const text = value['text'];
  if (typeof text !== 'string' || text.length === 0) return `${where}: text must be a non-empty string`;
  if (text.length > max) return `${where}: text is ${text.length} characters, more than ${max}`;
  return undefined;
}

function element(value: unknown, where: string): Problem {
  if (!isObject(value)) return `${where}: an element is required`;
  if (value['type'] !== 'button') return undefined;
  const text = textObject(value['text'], `${where}.text`, 75, true);
  if (text) return text;
  const url = value['url'];
  if (url !== undefined && (typeof url !== 'string' || url.length > 3000 || !/^https?:\/\//.test(url))) return `${where}.url: must be an http(s) URL of at most 3000 characters`;
  return undefined;
}

function block(value: unknown, where: string): Problem {
  if (!isObject(value)) return `${where}: a block is required`;
  switch (value['type']) {
    case 'header':
      return textObject(value['text'], `${where}.text`, 150, true);
    case 'section': {
      const fields = value['fields'];
      if (value['text'] === undefined && fields === undefined) return `${where}: text or fields is required`;
      if (value['text'] !== undefined) {
        const problem = textObject(value['text'], `${where}.text`, 3000);
        if (problem) return problem;
      }
      if (fields === undefined) return undefined;
      if (!Array.isArray(fields) || fields.length === 0 || fields.length > 10) return `${where}.fields: 1 to 10 fields`;
      for (const [i, field] of fields.entries()) {
        const problem = textObject(field, `${where}.fields[${i}]`, 2000);
        if (problem) return problem;
      }
      return undefined;
    }
    case 'actions': {
      const elements = value['elements'];
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) return `${where}.elements: 1 to 25 elements`;
      for (const [i, item] of elements.entries()) {
        const problem = element(item, `${where}.elements[${i}]`);
        if (problem) return problem;
      }
      return undefined;
    }
    case 'context': {
      const elements = value['elements'];
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) return `${where}.elements: 1 to 10 elements`;
      return undefined;
    }
    case 'divider':
      return undefined;
    default:
      return `${where}: unknown block type ${JSON.stringify(value['type'])}`;
  }
}

/** Slack's error code for a message's blocks, or undefined when they are fine (or absent). */
export function blockKitError(payload: Record<string, unknown>): { code: 'invalid_blocks' | 'invalid_blocks_format'; problem: string } | undefined {
  const blocks = payload['blocks'];
  if (blocks === undefined) return undefined;
  if (!Array.isArray(blocks)) return { code: 'invalid_blocks_format', problem: 'blocks must be a list' };
  if (blocks.length > 50) return { code: 'invalid_blocks', problem: `${blocks.length} blocks, more than 50` };
  for (const [i, item] of blocks.entries()) {
    const problem = block(item, `blocks[${i}]`);
    if (problem) return { code: 'invalid_blocks', problem };
  }
  return undefined;
}
