// The floor: a worker that does nothing.
export default {
  fetch() {
    return new Response(null, { status: 204 });
  },
};
