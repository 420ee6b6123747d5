import { ensureLlamaCppSource, readTemplate } from '../../../scripts/llama-cpp/source';

/** The four families the demo models carry, with what their prompts and answers look like. */
export const FAMILIES = [
  { id: 'demo-qwen2.5', template: 'Qwen-Qwen2.5-7B-Instruct', syntax: 'hermes', bos: '<|endoftext|>', eos: '<|im_end|>' },
  { id: 'demo-llama3.1', template: 'meta-llama-Llama-3.1-8B-Instruct', syntax: 'llama3', bos: '<|begin_of_text|>', eos: '<|eot_id|>' },
  { id: 'demo-mistral', template: 'mistralai-Mistral-Nemo-Instruct-2407', syntax: 'mistral', bos: '<s>', eos: '</s>' },
  { id: 'demo-r1', template: 'deepseek-ai-DeepSeek-R1-Distill-Qwen-32B', syntax: 'deepseek', bos: '<｜begin▁of▁sentence｜>', eos: '<｜end▁of▁sentence｜>' },
] as const;
export type Family = (typeof FAMILIES)[number];

export const templateSource = (name: string) => readTemplate(ensureLlamaCppSource(), name);

const str = (description: string, maxLength = 24) => ({ type: 'string', description, maxLength });

/**
 * A coding agent's dozen tools (the shape OpenCode, Continue and Cline send):
 * described, with full parameter schemas. Strings are bounded so a random-weight
 * model finishes its calls.
 */
export const AGENT_TOOLS = [
  [
    'read_file',
    'Read a file from the workspace and return its contents with line numbers.',
    { path: str('Path relative to the workspace root'), offset: { type: 'integer', description: 'First line to read' } },
  ],
  [
    'write_file',
    'Create or overwrite a file with the given content.',
    { path: str('Path of the file to write'), content: str('The full new content of the file') },
  ],
  [
    'edit_file',
    'Replace one exact occurrence of a string in a file.',
    { path: str('File to edit'), old_string: str('Text to replace'), new_string: str('Replacement text') },
  ],
  [
    'list_directory',
    'List the entries of a directory.',
    { path: str('Directory to list'), recursive: { type: 'boolean', description: 'Descend into subdirectories' } },
  ],
  ['glob', 'Find files whose paths match a glob pattern.', { pattern: str('Glob such as src/**/*.ts') }],
  ['grep', 'Search file contents with a regular expression.', { pattern: str('Regular expression'), include: str('Glob of files to search') }],
  [
    'run_command',
    'Run a shell command in the workspace and return its output.',
    { command: str('The command line'), timeout_ms: { type: 'integer', description: 'Kill the command after this long' } },
  ],
  ['web_fetch', 'Fetch a URL and return it as markdown.', { url: str('The URL to fetch', 48) }],
  [
    'todo_write',
    'Replace the task list shown to the user.',
    { items: { type: 'array', description: 'The tasks, in order', items: { type: 'string', maxLength: 16 }, maxItems: 3 } },
  ],
  ['ask_user', 'Ask the user a question and wait for the answer.', { question: str('The question') }],
  ['search_docs', 'Search the project documentation.', { query: str('What to look for'), limit: { type: 'integer', description: 'Most results to return' } }],
  ['git_diff', 'Show uncommitted changes.', { staged: { type: 'boolean', description: 'Only staged changes' } }],
].map(([name, description, properties]) => ({
  type: 'function' as const,
  function: {
    name: name as string,
    description: description as string,
    parameters: { type: 'object', properties: properties as Record<string, unknown>, required: Object.keys(properties as object) },
  },
}));
