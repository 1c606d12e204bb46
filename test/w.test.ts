import { Worker } from 'node:worker_threads';
it('w', async () => {
  const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify('file:///work/main/src/worker/thread.ts')}); })`;
  const w = new Worker(code, { eval: true, workerData: { config: {vault:{address:'http://127.0.0.1:1'}} } });
  await new Promise((res) => { w.on('error', (e) => { console.log('ERR', e); res(0); }); w.on('exit', (c) => { console.log('exit', c); res(0); }); setTimeout(res, 3000); });
});
