// Negacyclic NTT over RNS limbs, portable OpenCL C 1.2 (64-bit integers with mul_hi; no extension).
//
// Data: `batch` polynomials of n = 2^logn coefficients, polynomial-major; polynomial p uses RNS limb
// p % limbs. Twiddles: per limb n values, psi^bitrev(i) (and their inverses), with Shoup companions
// floor(w * 2^64 / q); they stay on the device per plan. Moduli q < 2^62, q = 1 (mod 2n).
// Forward: natural order in, bit-reversed out; inverse: bit-reversed in, natural out, times n^-1.
// One launch per stage, one butterfly per work-item (global size batch * n/2); lazy reduction keeps
// values in [0, 4q) between stages (Harvey 2014, Algorithms 3 and 4). The CPU reference is
// ArcaMath's NTTPlan, with the same loop structure.

inline ulong mul_shoup_lazy(ulong x, ulong w, ulong w_shoup, ulong q) {
    return x * w - mul_hi(x, w_shoup) * q;   // x*w mod q in [0, 2q)
}

// The butterfly of work-item gid at the stage with m groups of span t = 2^logt: returns the index of its
// first value (the second is j1 + t) and gives its polynomial's limb and its twiddle's index.
inline size_t butterfly(size_t gid, uint logn, uint limbs, uint m, uint logt, uint *limb, size_t *w_index) {
    size_t poly = gid >> (logn - 1);
    uint k = (uint)(gid & ((1u << (logn - 1)) - 1u));
    uint i = k >> logt, j = k & ((1u << logt) - 1u);
    *limb = (uint)(poly % limbs);
    *w_index = ((size_t)*limb << logn) + m + i;
    return (poly << logn) + ((size_t)(2u * i) << logt) + j;
}

__kernel void ntt_forward_stage(__global ulong *a, __global const ulong *roots, __global const ulong *roots_shoup,
                                __global const ulong *moduli, uint logn, uint limbs, uint m, uint logt) {
    uint limb;
    size_t w_index;
    size_t j1 = butterfly(get_global_id(0), logn, limbs, m, logt, &limb, &w_index);
    uint t = 1u << logt;
    ulong q = moduli[limb], two_q = q << 1;
    ulong x = a[j1];
    x = x >= two_q ? x - two_q : x;
    ulong y = mul_shoup_lazy(a[j1 + t], roots[w_index], roots_shoup[w_index], q);
    a[j1] = x + y;
    a[j1 + t] = x - y + two_q;
}

__kernel void ntt_forward_final(__global ulong *a, __global const ulong *moduli, uint logn, uint limbs) {
    size_t gid = get_global_id(0);
    ulong q = moduli[(gid >> logn) % limbs], x = a[gid];
    x = x >= (q << 1) ? x - (q << 1) : x;
    a[gid] = x >= q ? x - q : x;
}

__kernel void ntt_inverse_stage(__global ulong *a, __global const ulong *roots, __global const ulong *roots_shoup,
                                __global const ulong *moduli, uint logn, uint limbs, uint m, uint logt) {
    uint limb;
    size_t w_index;
    size_t j1 = butterfly(get_global_id(0), logn, limbs, m, logt, &limb, &w_index);
    uint t = 1u << logt;
    ulong q = moduli[limb], two_q = q << 1;
    ulong u = a[j1], v = a[j1 + t];
    ulong s = u + v;
    a[j1] = s >= two_q ? s - two_q : s;
    a[j1 + t] = mul_shoup_lazy(u - v + two_q, roots[w_index], roots_shoup[w_index], q);
}

__kernel void ntt_inverse_final(__global ulong *a, __global const ulong *moduli, __global const ulong *inverse_n,
                                __global const ulong *inverse_n_shoup, uint logn, uint limbs) {
    size_t gid = get_global_id(0);
    uint limb = (uint)((gid >> logn) % limbs);
    ulong q = moduli[limb];
    ulong x = mul_shoup_lazy(a[gid], inverse_n[limb], inverse_n_shoup[limb], q);
    a[gid] = x >= q ? x - q : x;
}

// Self-test of the one primitive every kernel here leans on: out[i] = mul_hi(a[i], b[i]), the high
// 64 bits of the 128-bit product.
__kernel void selftest_mul_hi(__global const ulong *a, __global const ulong *b, __global ulong *out) {
    size_t i = get_global_id(0);
    out[i] = mul_hi(a[i], b[i]);
}
