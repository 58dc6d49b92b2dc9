#include "fusedrnn/core/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fusedrnn/core/data/rng.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/core/data/valid_ranges.h"
#include "fusedrnn/core/error.h"

namespace fusedrnn::data {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoPi = 2 * kPi;
constexpr int kNoise = 5;  // noise components: temperature, dew depression, pressure, u, v

// Per-station climate, drawn once from the station's stream.
struct Climate {
    double lat, lon, elev_km, cont;
    double t_mean, a_season, a_diurnal, depression, p_mean, p_season, tide;
    double u0, v0, front_rate, front_scale;
    double vary_season;  // hemisphere sign of the seasonal cycle
};

Climate draw_climate(Rng& rng) {
    Climate c{};
    c.lat = rng.uniform(-50, 75);  // most real stations are in the northern hemisphere
    c.lon = rng.uniform(-180, 180);
    const double u = rng.uniform();
    c.elev_km = 2.5 * u * u * u;
    c.cont = rng.uniform();
    const double alat = std::fabs(c.lat);
    c.vary_season = c.lat >= 0 ? 1.0 : -1.0;
    c.t_mean = 28.0 - 0.55 * std::max(alat - 10.0, 0.0) - 6.5 * c.elev_km + rng.normal();
    c.a_season = std::min(22.0, 1.0 + 0.4 * alat * (0.35 + 0.8 * c.cont));
    c.a_diurnal = 2.0 + 5.0 * c.cont + rng.uniform(0, 1.5);
    c.depression = 1.5 + 7.0 * c.cont * rng.uniform(0.3, 1.0);
    // Subtropical highs near 30°, subpolar lows near 60°; continental winter highs.
    c.p_mean = 1013.0 + 6.0 * std::exp(-std::pow((alat - 30) / 12, 2)) - 7.0 * std::exp(-std::pow((alat - 60) / 10, 2)) +
               rng.normal();
    c.p_season = 4.0 * c.cont;
    c.tide = 1.2 * std::cos(c.lat * kPi / 180);
    // Trade easterlies, mid-latitude westerlies, polar easterlies.
    const double strength = rng.uniform(0.4, 1.0);
    c.u0 = strength * (alat < 30 ? -4.5 : alat < 62 ? 5.5 : -2.0);
    c.v0 = strength * rng.uniform(-1.5, 1.5);
    // Fronts every ~3 days in mid-latitudes, rarely in the tropics.
    c.front_rate = (0.04 + 0.3 * std::exp(-std::pow((alat - 50) / 15, 2))) / 24.0;  // per hour
    c.front_scale = 0.4 + 0.6 * std::min(1.0, alat / 45.0);
    return c;
}

// Cholesky factor of the innovations' correlation (T, depression, P, u, v): warm anomalies come with
// lower pressure and drier air, pressure anomalies with wind anomalies.
struct NoiseModel {
    double L[kNoise][kNoise] = {};
    double phi[kNoise] = {0.97, 0.95, 0.985, 0.9, 0.9};   // hour-to-hour persistence
    double sigma[kNoise] = {1.6, 1.3, 1.4, 1.6, 1.6};     // stationary standard deviations
    double innov[kNoise];                                 // sigma·sqrt(1 - phi²)

    NoiseModel() {
        const double R[kNoise][kNoise] = {{1.0, 0.35, -0.3, 0.0, 0.15},
                                          {0.35, 1.0, -0.1, 0.0, 0.0},
                                          {-0.3, -0.1, 1.0, -0.2, 0.1},
                                          {0.0, 0.0, -0.2, 1.0, 0.0},
                                          {0.15, 0.0, 0.1, 0.0, 1.0}};
        for (int i = 0; i < kNoise; ++i) {
            for (int j = 0; j <= i; ++j) {
                double s = R[i][j];
                for (int k = 0; k < j; ++k) s -= L[i][k] * L[j][k];
                L[i][j] = i == j ? std::sqrt(s) : s / L[j][j];
            }
            innov[i] = sigma[i] * std::sqrt(1 - phi[i] * phi[i]);
        }
    }
};

const NoiseModel& noise_model() {
    static const NoiseModel m;
    return m;
}

// Frontal contributions accumulated per row: temperature, pressure, wind u, v.
struct FrontFields {
    std::vector<float> t, p, u, v;
};

void add_fronts(const Climate& c, Rng& rng, int64_t rows, FrontFields& f) {
    f.t.assign(size_t(rows), 0.f);
    f.p.assign(size_t(rows), 0.f);
    f.u.assign(size_t(rows), 0.f);
    f.v.assign(size_t(rows), 0.f);
    // Poisson arrivals; each front spreads over ±3 widths.
    double tc = rng.exponential(1.0 / c.front_rate) - 72;
    while (tc < double(rows) + 72) {
        const double w = rng.uniform(10, 40);                              // hours
        const double depth = c.front_scale * rng.uniform(3, 18);          // hPa
        const double swing = c.front_scale * rng.uniform(1.5, 8) * (0.6 + 0.6 * c.cont);  // °C
        const double burst = depth * rng.uniform(0.2, 0.45);               // m/s
        const double theta0 = rng.uniform(0, kTwoPi);
        const int64_t lo = std::max<int64_t>(0, int64_t(std::floor(tc - 3 * w)));
        const int64_t hi = std::min<int64_t>(rows, int64_t(std::ceil(tc + 3 * w)));
        if (lo < hi) {
            // exp(-x²) and the veering angle by recurrences (exact in exact arithmetic, a few flops a
            // row): with x_r = (r - tc)/w and d = 1/w, g_{r+1} = g_r·q_r, q_{r+1} = q_r·exp(-2d²).
            const double d = 1.0 / w;
            double x = (double(lo) - tc) * d;
            double g = std::exp(-x * x);
            double q = std::exp(-(2 * x * d + d * d));
            const double qq = std::exp(-2 * d * d);
            double cs = std::cos(theta0 + 1.2 * x), sn = std::sin(theta0 + 1.2 * x);
            const double dc = std::cos(1.2 * d), ds = std::sin(1.2 * d);
            for (int64_t r = lo; r < hi; ++r) {
                f.p[size_t(r)] -= float(depth * g);
                f.t[size_t(r)] -= float(swing * 2.33 * x * g);  // warm sector ahead, cold air behind
                f.u[size_t(r)] += float(burst * g * cs);        // the wind veers as the front passes
                f.v[size_t(r)] += float(burst * g * sn);
                g *= q;
                q *= qq;
                x += d;
                const double c2 = cs * dc - sn * ds;
                sn = sn * dc + cs * ds;
                cs = c2;
            }
        }
        tc += rng.exponential(1.0 / c.front_rate);
    }
}

// Marks gaps: outages (all variables, median ~6 h, heavy tail up to 30 days) and isolated missing values.
void add_gaps(double fraction, Rng& rng, int64_t rows, float* out) {
    if (fraction <= 0) return;
    const int F = 5;
    // Outages carry 98% of the missing mass (mean length of the lognormal below ≈ 12.5 h); isolated
    // values the rest. Each isolated value rules out ~span windows, so a larger share would leave few
    // valid windows: at fraction 0.01 about 87% of 72-hour windows stay valid.
    const double mean_len = 12.5;
    const double outage_rate = 0.98 * fraction / mean_len;  // per hour
    double t = rng.exponential(1.0 / outage_rate);
    while (t < double(rows)) {
        const double len = std::min(720.0, std::ceil(std::exp(std::log(6.0) + 1.2 * rng.normal())));
        const int64_t lo = int64_t(t), hi = std::min<int64_t>(rows, int64_t(t + len));
        std::fill(out + lo * F, out + hi * F, kMissing);
        t += len + rng.exponential(1.0 / outage_rate);
    }
    // Isolated values: pressure twice as often as the others (many stations report it less).
    const double weights[5] = {0.8, 0.9, 1.0, 1.0, 1.6};  // sums to 5.3
    for (int v = 0; v < F; ++v) {
        const double p = 0.02 * fraction * weights[v] / 5.3 * F;
        if (p <= 0) continue;
        double r = rng.exponential(1.0 / p);
        while (r < double(rows)) {
            out[int64_t(r) * F + v] = kMissing;
            r += 1.0 + rng.exponential(1.0 / p);
        }
    }
}

// A temperature within the range measured on Earth (56.7 to -89.2 °C): the hottest stations' summer afternoons and the
// coldest ones' winter nights, summed from their cycles and noise, went past it (a test's fresh seed met 61.7 °C).
// Bent smoothly beyond the knees, so that the series keeps its shape there: unchanged between -60 and 48 °C.
double plausible_temperature(double t) {
    constexpr double kHotKnee = 48, kColdKnee = -60, kRoom = 8;  // at most 56, at least -68
    if (t > kHotKnee) return kHotKnee + kRoom * std::tanh((t - kHotKnee) / kRoom);
    if (t < kColdKnee) return kColdKnee - kRoom * std::tanh((kColdKnee - t) / kRoom);
    return t;
}

// NOAA's limits (valid_ranges.h) for the five variables in weather5k_vars() order.
struct Limits {
    float lo[5], hi[5];
};

const Limits& noaa_limits() {
    static const Limits kLimits = [] {
        Limits l;
        const auto& vars = weather5k_vars();
        const auto& ranges = noaa_isd_ranges();
        for (size_t k = 0; k < 5; ++k) {
            const auto it =
                std::find_if(ranges.begin(), ranges.end(), [&](const ValidRange& r) { return r.var == vars[k]; });
            FR_CHECK(it != ranges.end(), "no NOAA range for {}", vars[k]);
            l.lo[k] = float(it->lo);
            l.hi[k] = float(it->hi);
        }
        return l;
    }();
    return kLimits;
}

void fill_station(const SyntheticConfig& cfg, int index, int64_t start, int64_t rows, float* out) {
    Rng rng(mix64(cfg.seed, uint64_t(index)));
    const Limits& limits = noaa_limits();
    const Climate c = draw_climate(rng);
    const NoiseModel& nm = noise_model();
    FrontFields fronts;
    add_fronts(c, rng, rows, fronts);

    // Diurnal shapes by UTC hour (local solar time = UTC + lon/15 h): temperature peaks at 15 h,
    // pressure's semi-diurnal tide at 10 h and 22 h, wind speed at 14 h.
    double diurnal[24], tide[24], wind_day[24];
    for (int h = 0; h < 24; ++h) {
        const double lst = h + c.lon / 15.0;
        diurnal[h] = std::cos(kTwoPi * (lst - 15) / 24);
        tide[h] = std::cos(2 * kTwoPi * (lst - 10) / 24);
        wind_day[h] = 1.0 + 0.25 * (0.5 + 0.5 * c.cont) * std::cos(kTwoPi * (lst - 14) / 24);
    }
    double e[kNoise];
    for (int k = 0; k < kNoise; ++k) e[k] = nm.sigma[k] * rng.normal();  // start in the stationary state

    const int64_t start_hour = floor_div(start, kSecondsPerHour);
    double season = 0, day_amp = 0;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t hour = start_hour + r;
        const int h = int(floor_mod(hour, 24));
        if (h == 0 || r == 0) {
            // Seasonal phase from the day of year (peak in late July in the north, lagging the
            // solstice); once per day.
            const double day = double(floor_div(hour, 24));
            season = c.vary_season * std::cos(kTwoPi * (std::fmod(day, 365.2425) - 205) / 365.2425);
            // High latitudes have weak diurnal cycles in winter (polar night).
            day_amp = c.a_diurnal * (1.0 - 0.45 * std::min(1.0, std::fabs(c.lat) / 70.0) * (1 - season) / 2);
        }

        double z[kNoise];
        for (int k = 0; k < kNoise; ++k) z[k] = rng.normal();
        for (int i = 0; i < kNoise; ++i) {
            double s = 0;
            for (int k = 0; k <= i; ++k) s += nm.L[i][k] * z[k];
            e[i] = nm.phi[i] * e[i] + nm.innov[i] * s;
        }

        const double tmp =
            plausible_temperature(c.t_mean + c.a_season * season + day_amp * diurnal[h] + fronts.t[size_t(r)] + e[0]);
        const double depr = std::max(0.0, c.depression * (1.0 + 0.15 * season) + 0.5 * day_amp * (diurnal[h] + 1) + e[1]);
        const double slp = c.p_mean - c.p_season * season + c.tide * tide[h] + fronts.p[size_t(r)] + e[2];
        const double u = c.u0 + fronts.u[size_t(r)] + e[3];
        const double v = c.v0 + fronts.v[size_t(r)] + e[4];
        double rate = std::sqrt(u * u + v * v) * wind_day[h];
        double angle = 0;
        if (rate < 0.5) {
            rate = 0;  // calm: ISD writes direction 0, speed 0
        } else {
            // Meteorological direction: where the wind blows from, clockwise from north, 10..360.
            angle = std::atan2(-u, -v) * 180.0 / kPi;
            angle = std::round(angle / 10.0) * 10.0;
            if (angle <= 0) angle += 360.0;
        }
        float* row = out + r * 5;
        row[0] = float(std::round(tmp * 10) / 10);  // ISD resolution: 0.1 °C, 0.1 m/s, 0.1 hPa
        row[1] = float(std::round((tmp - depr) * 10) / 10);
        row[2] = float(angle);
        row[3] = float(std::round(rate * 10) / 10);
        row[4] = float(std::round(slp * 10) / 10);
        // Within NOAA's limits, which the readers mask outside of: a station written out reads back as generated
        // (QA: hot, humid stations made dew points above 36.8 °C, 214 in 800 stations x 3 years).
        for (int k = 0; k < 5; ++k) row[k] = std::clamp(row[k], limits.lo[k], limits.hi[k]);
    }
    add_gaps(cfg.gap_fraction, rng, rows, out);
}

void check_config(const SyntheticConfig& cfg) {
    FR_CHECK(cfg.stations > 0, "synthetic data: stations must be positive, got {}", cfg.stations);
    FR_CHECK(cfg.years > 0 && cfg.years <= 200, "synthetic data: years must be in [1, 200], got {}", cfg.years);
    // Dates are written as YYYY-MM-DD (station CSV files) and read back with four-digit years: year 10000 or -5
    // would give files the readers refuse or misread.
    FR_CHECK(cfg.start_year >= kMinSyntheticYear && cfg.start_year <= kMaxSyntheticYear - cfg.years + 1,
             "synthetic data: start year {} with {} years is outside the years {}..{} that station files hold "
             "(the last year would be {})",
             cfg.start_year, cfg.years, kMinSyntheticYear, kMaxSyntheticYear, int64_t(cfg.start_year) + cfg.years - 1);
    // Up to half the values (the CLI's --synthetic-gaps / --gaps range); beyond, few windows would be valid.
    FR_CHECK(cfg.gap_fraction >= 0 && cfg.gap_fraction <= kMaxSyntheticGaps,
             "synthetic data: gap_fraction must be in [0, {}], got {}", kMaxSyntheticGaps, cfg.gap_fraction);
}

StationInfo info_for(const SyntheticConfig& cfg, int index) {
    Rng rng(mix64(cfg.seed, uint64_t(index)));
    const Climate c = draw_climate(rng);  // the same first draws as fill_station
    StationInfo info;
    info.id = synthetic_station_id(index);
    info.name = fmt::format("synthetic {} (lat {:.1f}, lon {:.1f}, {:.0f} m)", index, c.lat, c.lon, c.elev_km * 1000);
    info.start = year_start(cfg.start_year);
    info.rows = cfg.rows_per_station();
    info.meta.latitude = c.lat;
    info.meta.longitude = c.lon;
    info.meta.elevation = c.elev_km * 1000;
    return info;
}

}  // namespace

std::string synthetic_station_id(int index) { return fmt::format("SYN{:05d}", index); }

void check_synthetic_config(const SyntheticConfig& config) { check_config(config); }

int64_t SyntheticConfig::rows_per_station() const {
    return (year_start(start_year + years) - year_start(start_year)) / kSecondsPerHour;
}

StationSet generate_synthetic(const SyntheticConfig& cfg, const std::function<void(size_t, size_t)>& progress) {
    check_config(cfg);
    StationSet set;
    set.vars = weather5k_vars();
    set.step = kSecondsPerHour;
    const int64_t rows = cfg.rows_per_station();
    for (int i = 0; i < cfg.stations; ++i) {
        StationInfo info = info_for(cfg, i);
        info.row_begin = int64_t(i) * rows;
        set.stations.push_back(std::move(info));
    }
    set.values.resize(size_t(cfg.stations) * size_t(rows) * 5);
    const int64_t start = year_start(cfg.start_year);
    // Chunks of stations, each filled in parallel, so progress can be reported from this thread.
    const int chunk = 256;
    for (int begin = 0; begin < cfg.stations; begin += chunk) {
        const int end = std::min(cfg.stations, begin + chunk);
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = begin; i < end; ++i)
            fill_station(cfg, i, start, rows, set.values.data() + int64_t(i) * rows * 5);
        if (progress) progress(size_t(end), size_t(cfg.stations));
    }
    return set;
}

StationSeries generate_synthetic_station(const SyntheticConfig& cfg, int index) {
    check_config(cfg);
    FR_CHECK(index >= 0 && index < cfg.stations, "synthetic station {} outside [0, {})", index, cfg.stations);
    const StationInfo info = info_for(cfg, index);
    StationSeries s;
    s.id = info.id;
    s.name = info.name;
    s.vars = weather5k_vars();
    s.start = info.start;
    s.step = kSecondsPerHour;
    s.meta = info.meta;
    s.values.resize(size_t(info.rows) * 5);
    fill_station(cfg, index, info.start, info.rows, s.values.data());
    return s;
}

}  // namespace fusedrnn::data
