// close_check.mjs: shared by the TypeScript SDK client tests (sdk_client.mjs and
// python/sdk_python_client.mjs). Only Node built-ins, so it resolves from anywhere.
import assert from 'node:assert/strict';

// Closes the client (EOF on the server's stdin) and checks that the server exits 0 by itself.
export async function closeAndCheckExit(client, transport) {
    // The transport keeps its ChildProcess private; reach in only to read the exit status, so
    // that a server which has to be killed (it ignored EOF) fails the test.
    const proc = transport._process;
    assert.ok(proc, 'the transport should hold the child process');
    const started = Date.now();
    const exited = new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) {
            resolve([proc.exitCode, proc.signalCode]);
        } else {
            proc.once('exit', (code, signal) => resolve([code, signal]));
        }
    });
    await client.close();
    const [code, signal] = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'server exit after EOF');
    assert.ok(Date.now() - started < 1900, 'the server should exit on EOF, before the SDK '
        + 'falls back to SIGTERM');
}
