#!/usr/bin/python3
"""Reference implementation of the customer-base models, for the tests.

Written independently of src/: the log-likelihoods of BG/NBD (Fader, Hardie
& Lee 2005), MBG/NBD (Batislam, Denizel & Filiztekin 2007), Pareto/NBD (in
the 2F1 form of Fader & Hardie's 2005 note, evaluated with scipy's hyp2f1)
Gamma-Gamma and BG/BB (Fader, Hardie & Shang 2010, with the paper's closed
forms for its predictions), fitted with scipy.optimize; standard errors
from a numerical Hessian (numpy central differences of the log-likelihood
in the log parameters); seeded simulations of Pareto/NBD and BG/BB
customers.

Usage (rows as CSV on stdin: x,t_x,T or, for gg, x,mean_value, for bgbb
x,t_x,n):
  btyd_ref.py se MODEL PARAMS [L2]   standard errors at PARAMS (comma-separated)
  btyd_ref.py fit MODEL [L2]         maximum-likelihood fit
  btyd_ref.py simulate N SEED r alpha s beta   simulated rows x,t_x,T
  btyd_ref.py simulate_bgbb N SEED alpha beta gamma delta   rows x,t_x,n
  btyd_ref.py predict_bgbb PARAMS    rows x,t_x,n,h: one line per row with
                                     P(alive at n+1), E[X(n, n+h)], P(X(n) = x)
Output: one line of comma-separated numbers (predict_bgbb: one per row).
"""
import sys

import numpy as np
from scipy import optimize, special


def read_rows():
    data = np.loadtxt(sys.stdin, delimiter=",", ndmin=2)
    return [data[:, j] for j in range(data.shape[1])]


def ll_bgnbd(theta, x, tx, T, modified=False):
    r, alpha, a, b = theta
    common = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha))
    if modified:
        # MBG/NBD: dropout possible at time 0 too
        beta_ratio = special.betaln(a, b + x + 1) - special.betaln(a, b)
        l1 = -(r + x) * np.log(alpha + T)
        l2 = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + tx)
        return np.sum(common + beta_ratio + np.logaddexp(l1, l2))
    beta_ratio = special.betaln(a, b + x) - special.betaln(a, b)
    l1 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore"):
        l2 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                      - (r + x) * np.log(alpha + tx), -np.inf)
    return np.sum(common + beta_ratio + np.logaddexp(l1, l2))


def ll_pnbd(theta, x, tx, T):
    """Fader & Hardie (2005 note), eq. (22): L = Gamma(r+x) alpha^r beta^s /
    Gamma(r) [1/((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A0]."""
    r, alpha, s, beta = theta
    rsx = r + s + x
    if alpha >= beta:
        big, b2 = alpha, s + 1
        z1 = (alpha - beta) / (alpha + tx)
        z2 = (alpha - beta) / (alpha + T)
    else:
        big, b2 = beta, r + x
        z1 = (beta - alpha) / (beta + tx)
        z2 = (beta - alpha) / (beta + T)
    f1 = special.hyp2f1(rsx, b2, rsx + 1, z1) / (big + tx) ** rsx
    f2 = special.hyp2f1(rsx, b2, rsx + 1, z2) / (big + T) ** rsx
    a0 = f1 - f2
    first = 1.0 / ((alpha + T) ** (r + x) * (beta + T) ** s)
    bracket = first + s / rsx * a0
    return np.sum(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
                  + s * np.log(beta) + np.log(bracket))


def ll_gg(theta, x, m):
    p, q, g = theta
    return np.sum(special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q)
                  + q * np.log(g) + (p * x - 1) * np.log(m) + p * x * np.log(x)
                  - (p * x + q) * np.log(g + x * m))


def bgbb_terms(theta, x, tx, n):
    """The paper's likelihood (eq. 5) term by term: the log of the "alive
    through n" term and the likelihood L, by the definition with betaln."""
    a, b, g, d = theta
    alive = (special.betaln(a + x, b + n - x) - special.betaln(a, b)
             + special.betaln(g, d + n) - special.betaln(g, d))
    total = np.exp(alive)
    for i in range(int(np.max(n - tx))):
        died = (special.betaln(a + x, b + tx - x + i) - special.betaln(a, b)
                + special.betaln(g + 1, d + tx + i) - special.betaln(g, d))
        total = total + np.where(i < n - tx, np.exp(died), 0.0)
    return alive, total


def ll_bgbb(theta, x, tx, n):
    return np.sum(np.log(bgbb_terms(theta, x, tx, n)[1]))


def bgbb_predict(theta, x, tx, n, h):
    """P(alive at n+1) (eq. 11), E[X(n, n+h)] in the closed form of eq. 13
    with gammaln, and P(X(n) = x) (eq. 8) with binomial coefficients."""
    a, b, g, d = theta
    _, lik = bgbb_terms(theta, np.array([x]), np.array([tx]), np.array([n]))
    lik = lik[0]
    p_alive = np.exp(special.betaln(a + x, b + n - x) - special.betaln(a, b)
                     + special.betaln(g, d + n + 1) - special.betaln(g, d)) / lik
    bracket = (np.exp(special.gammaln(1 + d + n) - special.gammaln(g + d + n))
               - np.exp(special.gammaln(1 + d + n + h) - special.gammaln(g + d + n + h)))
    expected = (np.exp(special.betaln(a + x + 1, b + n - x) - special.betaln(a, b)) / lik
                * d / (g - 1) * np.exp(special.gammaln(g + d) - special.gammaln(1 + d)) * bracket)
    prob = special.comb(n, x) * np.exp(special.betaln(a + x, b + n - x) - special.betaln(a, b)
                                       + special.betaln(g, d + n) - special.betaln(g, d))
    for i in range(int(x), int(n)):
        prob += special.comb(i, x) * np.exp(special.betaln(a + x, b + i - x) - special.betaln(a, b)
                                            + special.betaln(g + 1, d + i) - special.betaln(g, d))
    return p_alive, expected, prob


def loglik(model, theta, cols):
    if model == "bgnbd":
        return ll_bgnbd(theta, *cols)
    if model == "mbgnbd":
        return ll_bgnbd(theta, *cols, modified=True)
    if model == "pnbd":
        return ll_pnbd(theta, *cols)
    if model == "gg":
        return ll_gg(theta, *cols)
    if model == "bgbb":
        return ll_bgbb(theta, *cols)
    raise SystemExit("unknown model " + model)


def objective(model, u, cols, l2):
    """The penalized negative log-likelihood N (mean NLL + l2 sum u^2), the
    quantity whose curvature the extension's standard errors use."""
    n = len(cols[0])
    return -loglik(model, np.exp(u), cols) + n * l2 * np.sum(u * u)


def hessian(f, u, h=1e-4):
    k = len(u)
    hess = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h
            ej[j] = h
            hess[i, j] = (f(u + ei + ej) - f(u + ei - ej) - f(u - ei + ej) + f(u - ei - ej)) / (4 * h * h)
    return (hess + hess.T) / 2


def standard_errors(model, theta, cols, l2):
    u = np.log(np.asarray(theta, dtype=float))
    cov = np.linalg.inv(hessian(lambda v: objective(model, v, cols, l2), u))
    return np.exp(u) * np.sqrt(np.diag(cov))


def fit(model, cols, l2):
    k = 3 if model == "gg" else 4
    u0 = np.zeros(k)
    res = optimize.minimize(lambda v: objective(model, v, cols, l2) / len(cols[0]), u0,
                            method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 40000, "maxfev": 80000})
    res = optimize.minimize(lambda v: objective(model, v, cols, l2) / len(cols[0]), res.x,
                            method="BFGS", options={"gtol": 1e-9})
    return list(np.exp(res.x)) + [loglik(model, np.exp(res.x), cols)]


def simulate(n, seed, r, alpha, s, beta):
    """Pareto/NBD customers: rate lambda ~ Gamma(r, 1/alpha), lifetime
    ~ Exp(mu), mu ~ Gamma(s, 1/beta), first purchases spread over 26 weeks
    before a 52-week calibration end; purchase days rounded to 1/7 week."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        lam = rng.gamma(r, 1.0 / alpha)
        mu = rng.gamma(s, 1.0 / beta)
        T = 52.0 - np.floor(rng.uniform(0, 26) * 7) / 7
        life = rng.exponential(1.0 / mu)
        t, last, x = 0.0, 0.0, 0
        end = min(life, T)
        while True:
            t += rng.exponential(1.0 / lam)
            if t > end:
                break
            x += 1
            last = t
        # one row per customer; times rounded to days as calendar data are
        last = min(np.round(last * 7) / 7, T)
        rows.append((x, last if x > 0 else 0.0, T))
    return rows


def simulate_bgbb(n, seed, a, b, g, d):
    """BG/BB customers: p ~ Beta(a, b), theta ~ Beta(g, d); cohorts observed
    for 4..10 opportunities after the first purchase; before each
    opportunity a living customer dies with probability theta, and at it
    buys with probability p."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        p = rng.beta(a, b)
        theta = rng.beta(g, d)
        opportunities = int(rng.integers(4, 11))
        x, last = 0, 0
        for t in range(1, opportunities + 1):
            if rng.random() < theta:
                break
            if rng.random() < p:
                x += 1
                last = t
        rows.append((x, last, opportunities))
    return rows


def main():
    cmd = sys.argv[1]
    if cmd == "simulate_bgbb":
        n, seed = int(sys.argv[2]), int(sys.argv[3])
        for x, tx, k in simulate_bgbb(n, seed, *(float(v) for v in sys.argv[4:8])):
            print(f"{x},{tx},{k}")
        return
    if cmd == "predict_bgbb":
        theta = [float(v) for v in sys.argv[2].split(",")]
        for x, tx, k, h in zip(*read_rows()):
            print(",".join(f"{v:.17g}" for v in bgbb_predict(theta, x, tx, k, h)))
        return
    if cmd == "simulate":
        n, seed = int(sys.argv[2]), int(sys.argv[3])
        r, alpha, s, beta = (float(v) for v in sys.argv[4:8])
        for x, tx, T in simulate(n, seed, r, alpha, s, beta):
            print(f"{x},{tx:.17g},{T:.17g}")
        return
    model = sys.argv[2]
    cols = read_rows()
    if cmd == "se":
        theta = [float(v) for v in sys.argv[3].split(",")]
        l2 = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
        print(",".join(f"{v:.10g}" for v in standard_errors(model, theta, cols, l2)))
    elif cmd == "fit":
        l2 = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
        print(",".join(f"{v:.10g}" for v in fit(model, cols, l2)))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
