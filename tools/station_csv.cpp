#include "fusedrnn/tools/station_csv.h"

#include <cmath>

#include <fmt/format.h>

#include "fusedrnn/core/data/text.h"
#include "fusedrnn/core/data/time.h"
#include "fusedrnn/tools/atomic_write.h"

namespace fusedrnn::tools {

const std::vector<std::string>& time_column_names() {
    static const std::vector<std::string> names{"HOUR_SIN", "HOUR_COS", "DOY_SIN", "DOY_COS"};
    return names;
}

namespace {

constexpr double kTwoPi = 6.283185307179586;

// Hours into the day at `t`, in local solar time where `longitude` (degrees east) is known.
double hour_of_day(int64_t t, double longitude) {
    double h = double(data::floor_mod(t, data::kSecondsPerDay)) / double(data::kSecondsPerHour);
    if (!std::isnan(longitude)) h = std::fmod(h + longitude / 15.0 + 48.0, 24.0);
    return h;
}

// Days since the start of the UTC year at `t` (0 on 1 January at midnight), over the length of that year.
double year_fraction(int64_t t) {
    const int64_t year = data::to_civil(t).year;
    const int64_t start = data::year_start(year), end = data::year_start(year + 1);
    return double(t - start) / double(end - start);
}

}  // namespace

void write_station_csv(const data::StationSet& set, int station, const std::string& path, const StationCsvOptions& o) {
    const data::StationInfo& st = set.stations.at(size_t(station));
    const int F = set.num_vars();
    AtomicFile file(path);
    std::ostream& out = file.stream();
    out << "DATE";
    for (const auto& v : set.vars) out << ',' << data::csv_field(v);
    if (o.time_columns)
        for (const auto& v : time_column_names()) out << ',' << v;
    out << '\n';
    std::string line;
    for (int64_t r = 0; r < st.rows; ++r) {
        const int64_t t = st.start + r * set.step;
        line = data::format_time(t);
        for (int v = 0; v < F; ++v) {
            // + 0: a negative zero (the generator's rounding makes some) is written "0", as it reads back.
            const float x = set.values[size_t(st.row_begin + r) * size_t(F) + size_t(v)] + 0.0f;
            if (data::is_missing(x)) line += ',';
            else if (o.one_decimal) fmt::format_to(std::back_inserter(line), ",{:.1f}", x);
            else fmt::format_to(std::back_inserter(line), ",{}", x);
        }
        if (o.time_columns) {
            const double hour = kTwoPi * hour_of_day(t, st.meta.longitude) / 24.0;
            const double day = kTwoPi * year_fraction(t);
            fmt::format_to(std::back_inserter(line), ",{:.6f},{:.6f},{:.6f},{:.6f}", std::sin(hour), std::cos(hour),
                           std::sin(day), std::cos(day));
        }
        line += '\n';
        out << line;
    }
    file.commit();
}

std::string station_csv_name(const data::StationSet& set, int station) {
    std::string name = set.stations.at(size_t(station)).id;
    for (char& c : name)
        if (c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' || c == '|' ||
            static_cast<unsigned char>(c) < 0x20)
            c = '_';
    if (name.empty() || name == "." || name == "..") name = "station" + std::to_string(station);
    return name + ".csv";
}

}  // namespace fusedrnn::tools
