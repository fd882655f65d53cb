// The bench hit and its headers, shared by bench/run.mjs and bench/profile.mjs: a browser Purchase with email,
// phone, IP and UA. BENCH_HIT=no-identifiers or no-tag takes pieces away, to see what each one costs.
const VARIANT = process.env.BENCH_HIT || 'purchase';

export const HIT = VARIANT === 'no-tag' ? JSON.stringify({ event: 'Other', page: { url: 'https://shop.example.com/p' } })
  : VARIANT === 'no-identifiers' ? JSON.stringify({ event: 'Purchase', event_id: 'ord-bench', page: { url: 'https://shop.example.com/thank-you?o=1' }, data: { value: 149.0, currency: 'USD' } })
  : JSON.stringify({
    event: 'Purchase', event_id: 'ord-bench',
    page: { url: 'https://shop.example.com/thank-you?o=1' },
    user: { email: ' Jane.Doe@Example.com ', phone: '+1 (650) 555-1212' },
    data: { value: 149.0, currency: 'USD', contents: [{ id: 'BOOT-42', quantity: 1, price: 149.0 }] },
  });

const HEADERS = {
  'content-type': 'application/json',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) bench', 'cf-connecting-ip': '203.0.113.9',
};

/** The hit's headers for a worker at `workerUrl`. The page is on the worker's own origin, as with first-party
 * routing (the product's premise); BENCH_ORIGIN=cross sends it from another allowed origin instead, which adds
 * the CORS headers to each response. */
export function headersFor(workerUrl) {
  const origin = process.env.BENCH_ORIGIN === 'cross' ? 'https://shop.example.com' : new URL(workerUrl).origin;
  return { ...HEADERS, origin };
}
