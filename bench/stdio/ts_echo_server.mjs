// ts_echo_server.mjs: the reference MCP echo server for bench/stdio, on the official TypeScript
// SDK v1.x (@modelcontextprotocol/sdk, pinned in package.json). It is the SDK's documented
// shape -- McpServer + registerTool + StdioServerTransport -- with the same tool as
// examples/embed_c/echo_server.c: echo {"text": string} -> the text as text content.
// Nothing is tuned: the point is to measure what an SDK user gets.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'ts-echo-bench', version: '1.0.0' });

server.registerTool(
    'echo',
    {
        title: 'Echo',
        description: 'Return the given text unchanged.',
        inputSchema: { text: z.string().describe('Text to echo') },
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
);

await server.connect(new StdioServerTransport());
