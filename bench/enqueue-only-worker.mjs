// A reference point between the floor and the real workers: it reads the hit and enqueues it for two
// destinations in one sendBatch, and does nothing else. In local workerd each sendBatch is a subrequest to
// Miniflare's queue broker, a cost every worker that queues pays alike; the real workers' own work is what
// they spend above this one.
export default {
  async fetch(request, env) {
    const hit = await request.text();
    await env.DELIVERIES.sendBatch([
      { body: { destination: 'openai', payload: hit } },
      { body: { destination: 'capi', payload: hit } },
    ]);
    return new Response(null, { status: 204 });
  },
};
