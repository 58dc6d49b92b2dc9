// Wind as its eastward and northward components (`train --wind uv` / `uv+speed`, core/data/wind_components.h): the
// conversion by hand (the meteorological convention: the direction the wind blows from), calms and gaps, the
// columns and targets renamed, and a dataset that records it, so a checkpoint's eval and predict convert alike.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fusedrnn/core/data/dataset.h"
#include "fusedrnn/core/data/synthetic.h"
#include "fusedrnn/core/data/wind_components.h"
#include "fusedrnn/tests/test_support.h"

namespace fusedrnn::data {
namespace {

// One station, rows of (TMP, WND_ANGLE, WND_RATE).
StationSet wind_rows(const std::vector<std::vector<float>>& rows) {
    StationSeries s;
    s.id = "S";
    s.vars = {"TMP", "WND_ANGLE", "WND_RATE"};
    s.start = 0;
    s.step = 3600;
    for (const auto& r : rows) s.values.insert(s.values.end(), r.begin(), r.end());
    StationSet set;
    set.append(std::move(s));
    set.targets = {"WND_RATE", "TMP"};
    return set;
}

const std::vector<std::vector<float>> kRows = {{1, 360, 10},          // from the north: blowing south, v = -10
                                               {2, 90, 4},            // from the east: blowing west, u = -4
                                               {3, 225, 2},           // from the south-west: u = v = +sqrt(2)
                                               {4, 0, 0},             // calm (ISD's 0 direction): no wind
                                               {5, kMissing, 0},      // calm without a direction: still no wind
                                               {6, kMissing, 3},      // a direction missing: both components missing
                                               {7, 180, kMissing}};   // a speed missing: likewise

TEST(WindComponents, ByHandCalmsAndGaps) {
    for (const WindForm form : {WindForm::Uv, WindForm::UvSpeed}) {
        SCOPED_TRACE(wind_form_name(form));
        const bool speed = form == WindForm::UvSpeed;
        StationSet set = wind_rows(kRows);
        convert_wind(set, form);
        const std::vector<std::string> vars =
            speed ? std::vector<std::string>{"TMP", "WND_U", "WND_V", "WND_RATE"}
                  : std::vector<std::string>{"TMP", "WND_U", "WND_V"};
        ASSERT_EQ(set.vars, vars);
        EXPECT_EQ(set.targets, speed ? (std::vector<std::string>{"WND_RATE", "TMP"})
                                     : (std::vector<std::string>{"TMP"}));
        const size_t F = vars.size();
        ASSERT_EQ(set.values.size(), kRows.size() * F);
        auto at = [&](int r, int v) { return set.values[size_t(r) * F + size_t(v)]; };
        const float expected[][2] = {{0, -10}, {-4, 0}, {std::sqrt(2.0f), std::sqrt(2.0f)}, {0, 0}, {0, 0}};
        for (int r = 0; r < 7; ++r) {
            EXPECT_EQ(at(r, 0), float(r + 1));  // other variables untouched
            if (r < 5) {
                EXPECT_NEAR(at(r, 1), expected[r][0], 1e-5) << "row " << r;
                EXPECT_NEAR(at(r, 2), expected[r][1], 1e-5) << "row " << r;
            } else {
                EXPECT_TRUE(is_missing(at(r, 1)) && is_missing(at(r, 2))) << "row " << r;
            }
            if (speed) {  // the speed as read (NaN included)
                EXPECT_EQ(std::memcmp(&set.values[size_t(r) * F + 3], &kRows[size_t(r)][2], sizeof(float)), 0);
            }
        }
        const std::vector<float> once = set.values;
        convert_wind(set, form);  // already components: nothing to do (eval converts, then builds the dataset)
        EXPECT_EQ(std::memcmp(set.values.data(), once.data(), once.size() * sizeof(float)), 0);  // NaN != NaN
        EXPECT_EQ(set.vars, vars);
    }
    StationSet as_read = wind_rows(kRows);
    convert_wind(as_read, WindForm::Angle);
    EXPECT_EQ(as_read.vars[1], "WND_ANGLE");
}

TEST(WindComponents, DirectionBackFromTheComponents) {
    for (double direction : {0.5, 45.0, 90.0, 179.0, 180.0, 270.0, 359.5}) {
        double u = 0, v = 0;
        wind_components(direction, 7.0, u, v);
        EXPECT_NEAR(wind_direction(u, v), direction, 1e-9) << direction;
        EXPECT_NEAR(std::hypot(u, v), 7.0, 1e-12);
    }
    double u = 0, v = 0;
    wind_components(360, 5, u, v);  // north as ISD writes it: 0 or a hair below 360
    const double north = wind_direction(u, v);
    EXPECT_LT(std::min(north, 360 - north), 1e-9) << north;
    EXPECT_LT(north, 360.0);  // in [0, 360)
    EXPECT_EQ(wind_direction(1e-300, -1), 0.0);  // a hair west of north would round to 360 itself
    EXPECT_EQ(wind_direction(0, 0), 0);  // a calm: the readers' direction for one
}

TEST(WindComponents, DataWithoutWindIsAnErrorNamingItsVariables) {
    StationSeries s;
    s.id = "S";
    s.vars = {"TMP", "WND_RATE"};
    s.step = 3600;
    s.values = {1, 2};
    StationSet set;
    set.append(std::move(s));
    std::string e = testing::error_of([&] { convert_wind(set, WindForm::Uv); });
    EXPECT_NE(e.find("--wind uv replaces WND_ANGLE and WND_RATE by WND_U and WND_V, but the data's variables are "
                     "TMP, WND_RATE"), std::string::npos) << e;
    e = testing::error_of([&] { convert_wind(set, WindForm::UvSpeed); });
    EXPECT_NE(e.find("--wind uv+speed replaces WND_ANGLE (keeping WND_RATE) by WND_U and WND_V"), std::string::npos)
        << e;
    // Data with the components beside the direction (or in another form than asked): said, not mixed up.
    StationSeries both;
    both.id = "B";
    both.vars = {"WND_ANGLE", "WND_RATE", "WND_U", "WND_V"};
    both.values = {90, 1, -1, 0};
    StationSet mixed;
    mixed.append(std::move(both));
    e = testing::error_of([&] { convert_wind(mixed, WindForm::Uv); });
    EXPECT_NE(e.find("--wind uv writes WND_U and WND_V, but the data already has WND_U: rename that column, or leave "
                     "--wind at angle"), std::string::npos) << e;
    StationSeries uv_speed;
    uv_speed.id = "C";
    uv_speed.vars = {"WND_U", "WND_V", "WND_RATE"};
    uv_speed.values = {-1, 0, 1};
    StationSet other_form;
    other_form.append(std::move(uv_speed));
    EXPECT_NE(testing::error_of([&] { convert_wind(other_form, WindForm::Uv); }).find("already has WND_U"),
              std::string::npos);
    EXPECT_NO_THROW(convert_wind(other_form, WindForm::UvSpeed));  // that one's own form: nothing to do
    EXPECT_NE(testing::error_of([&] { parse_wind_form("components"); }).find("unknown wind form \"components\" "
                                                                            "(angle, uv or uv+speed)"),
              std::string::npos);
}

// The dataset converts as it is built and records it; the configuration read back from that record converts again,
// and a record without it (checkpoints from before the option) reads as the angle.
TEST(WindComponents, TheDatasetRecordsIt) {
    SyntheticConfig sc;
    sc.stations = 2;
    sc.years = 3;
    sc.start_year = 2021;
    DatasetConfig dc;
    dc.window.input_len = 12;
    dc.window.horizon = 4;
    dc.split = SplitSpec::years(2021, 2021, 2022, 2022, 2023, 2023);
    dc.wind = WindForm::UvSpeed;
    const WindowedDataset ds = build_dataset(generate_synthetic(sc), dc);
    EXPECT_EQ(ds.data.vars, (std::vector<std::string>{"TMP", "DEW", "WND_U", "WND_V", "WND_RATE", "SLP"}));
    EXPECT_EQ(ds.target_names, ds.data.vars);
    const nlohmann::json meta = ds.meta_json();
    EXPECT_EQ(meta.at("wind"), "uv+speed");
    EXPECT_EQ(dataset_config_from_meta(meta).wind, WindForm::UvSpeed);
    nlohmann::json older = meta;
    older.erase("wind");
    EXPECT_EQ(dataset_config_from_meta(older).wind, WindForm::Angle);
    older["wind"] = "sideways";
    EXPECT_NE(testing::error_of([&] { dataset_config_from_meta(older); }).find("unknown wind form \"sideways\""),
              std::string::npos);
    dc.wind = WindForm::Angle;
    EXPECT_FALSE(build_dataset(generate_synthetic(sc), dc).meta_json().contains("wind"));
}

}  // namespace
}  // namespace fusedrnn::data
