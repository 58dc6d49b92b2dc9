#include "fusedrnn/models/optimizer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fusedrnn {

namespace {

void check_lr(float lr) {
    FR_CHECK(std::isfinite(lr), "optimizer: learning rate must be a finite number (float: up to {:g}), got {}",
             double(std::numeric_limits<float>::max()), lr);
    FR_CHECK(lr > 0, "optimizer: learning rate must be positive, got {}", lr);
}

// AdamW multiplies every weight by 1 - lr*wd each step: at lr*wd >= 1 that factor is zero or negative, so the
// weights are wiped or flip sign every step (torch accepts it; nothing useful comes of it).
void check_decoupled_decay(const OptimizerConfig& c, float lr) {
    if (c.name != "adamw") return;
    FR_CHECK(double(lr) * double(c.weight_decay) < 1.0, "optimizer 'adamw': learning rate {:g} x weight decay {:g} = "
             "{:g}, but the decoupled decay scales the weights by 1 - lr x decay each step, which must stay above 0: "
             "lower the weight decay", lr, c.weight_decay, double(lr) * double(c.weight_decay));
}

// What every optimizer needs of its settings. Infinite settings pass the sign checks and turn every parameter into
// NaN at the first step.
void check_common(const OptimizerConfig& c) {
    check_lr(c.lr);
    FR_CHECK(std::isfinite(c.weight_decay) && c.weight_decay >= 0,
             "optimizer: weight decay must be a finite number >= 0, got {}", c.weight_decay);
    check_decoupled_decay(c, c.lr);
}

}  // namespace

void check_optimizer_config(const OptimizerConfig& c) {
    FR_CHECK(c.name == "sgd" || c.name == "adam" || c.name == "adamw" || c.name == "rmsprop",
             "unknown optimizer '{}': expected sgd, adam, adamw or rmsprop", c.name);
    check_common(c);
    if (c.name == "sgd")
        FR_CHECK(c.momentum >= 0 && c.momentum < 1, "sgd: momentum must be in [0, 1), got {}", c.momentum);
    if (c.name == "adam" || c.name == "adamw") {
        FR_CHECK(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1,
                 "{}: betas must be in [0, 1), got {} and {}", c.name, c.beta1, c.beta2);
        FR_CHECK(std::isfinite(c.eps) && c.eps > 0, "{}: eps must be a finite positive number, got {}", c.name, c.eps);
    }
    if (c.name == "rmsprop") {
        FR_CHECK(c.alpha >= 0 && c.alpha < 1, "rmsprop: alpha must be in [0, 1), got {}", c.alpha);
        FR_CHECK(std::isfinite(c.eps) && c.eps > 0, "rmsprop: eps must be a finite positive number, got {}", c.eps);
    }
}

Optimizer::Optimizer(const ParamStore& params, OptimizerConfig config, std::vector<std::string> state_names)
    : config_(std::move(config)), backend_(params.backend_ptr()), values_(params.values()), size_(params.size()),
      state_names_(std::move(state_names)) {
    check_common(config_);
    for (size_t i = 0; i < state_names_.size(); ++i) state_.push_back(backend_->zeros({long(params.size())}));
}

bool Optimizer::made_for(const ParamStore& params) const {
    return params.values() == values_ && params.size() == size_;
}

void Optimizer::step(ParamStore& params) {
    FR_CHECK(made_for(params), "optimizer '{}': step() was given a model's parameters ({} values) other than those it "
             "was made for ({} values): make one optimizer per model", config_.name, params.size(), size_);
    apply(params);
}

void Optimizer::set_lr(float lr) {
    // A schedule may reach 0 (a cosine's last step, as torch's CosineAnnealingLR with eta_min 0); never below.
    FR_CHECK(std::isfinite(lr) && lr >= 0, "optimizer: set_lr needs a finite learning rate >= 0, got {}", lr);
    check_decoupled_decay(config_, lr);
    config_.lr = lr;
}

std::map<std::string, std::vector<float>> Optimizer::state_to_host() const {
    std::map<std::string, std::vector<float>> out;
    for (size_t i = 0; i < state_names_.size(); ++i) out[state_names_[i]] = backend_->to_host(state_[i]);
    return out;
}

void Optimizer::state_from_host(const std::map<std::string, std::vector<float>>& state, long steps) {
    FR_CHECK(steps >= 0, "optimizer '{}': the step count must be >= 0, got {}", config_.name, steps);
    for (const auto& kv : state)
        FR_CHECK(std::find(state_names_.begin(), state_names_.end(), kv.first) != state_names_.end(),
                 "optimizer '{}' has no state '{}' (its state: {})", config_.name, kv.first,
                 fmt::join(state_names_, ", "));
    for (size_t i = 0; i < state_names_.size(); ++i) {
        auto it = state.find(state_names_[i]);
        FR_CHECK(it != state.end(), "optimizer state '{}' missing from the checkpoint", state_names_[i]);
        FR_CHECK(it->second.size() == state_[i].numel(), "optimizer state '{}' has {} values, expected {}",
                 state_names_[i], it->second.size(), state_[i].numel());
        backend_->copy_from_host(state_[i].data(), it->second.data(), it->second.size() * sizeof(float));
    }
    steps_ = steps;
}

namespace {

class Sgd final : public Optimizer {
public:
    Sgd(const ParamStore& p, const OptimizerConfig& c) : Optimizer(p, c, {"momentum_buffer"}) {}
    void apply(ParamStore& p) override {
        ++steps_;
        p.backend().sgd_step(p.size(), p.values(), p.grads(), state(0).data(), config_.lr, config_.momentum,
                             config_.weight_decay);
    }
};

// Adam, or AdamW when the weight decay is decoupled (the same state, so the same checkpoint tensors).
class Adam final : public Optimizer {
public:
    Adam(const ParamStore& p, const OptimizerConfig& c, bool decoupled)
        : Optimizer(p, c, {"exp_avg", "exp_avg_sq"}), decoupled_(decoupled) {}
    void apply(ParamStore& p) override {
        ++steps_;
        p.backend().adam_step(p.size(), p.values(), p.grads(), state(0).data(), state(1).data(), config_.lr,
                              config_.beta1, config_.beta2, config_.eps, steps_, config_.weight_decay, decoupled_);
    }

private:
    bool decoupled_;
};

class RmsProp final : public Optimizer {
public:
    RmsProp(const ParamStore& p, const OptimizerConfig& c) : Optimizer(p, c, {"square_avg"}) {}
    void apply(ParamStore& p) override {
        ++steps_;
        p.backend().rmsprop_step(p.size(), p.values(), p.grads(), state(0).data(), config_.lr, config_.alpha,
                                 config_.eps, config_.weight_decay);
    }
};

}  // namespace

float default_weight_decay(const std::string& optimizer) { return optimizer == "adamw" ? 0.01f : 0.0f; }

std::unique_ptr<Optimizer> make_optimizer(const ParamStore& params, const OptimizerConfig& config) {
    check_optimizer_config(config);
    if (config.name == "sgd") return std::make_unique<Sgd>(params, config);
    if (config.name == "adam") return std::make_unique<Adam>(params, config, false);
    if (config.name == "adamw") return std::make_unique<Adam>(params, config, true);
    return std::make_unique<RmsProp>(params, config);
}

namespace {
// A NaN or negative max_norm would pass `max_norm > 0` as "off" and leave the gradients unclipped without a word.
void check_max_norm(double max_norm, const char* who) {
    FR_CHECK(std::isfinite(max_norm) && max_norm >= 0, "{}: max_norm must be a finite number >= 0 (0 = no clipping), "
             "got {}", who, finite_or_name(max_norm));
}
}  // namespace

double clip_grad_norm(ParamStore& params, double max_norm) {
    check_max_norm(max_norm, "clip_grad_norm");
    const double norm = std::sqrt(params.backend().sum_squares(params.size(), params.grads()));
    if (max_norm > 0 && norm > max_norm)
        params.backend().scale(params.size(), params.grads(), float(max_norm / (norm + 1e-6)));
    return norm;
}

void queue_update(ParamStore& params, Optimizer* optimizer, double max_norm, double* grad_norm2,
                  double* param_norm2) {
    check_max_norm(max_norm, "gradient clipping");
    Backend<float>& be = params.backend();
    be.sum_squares_into(params.size(), params.grads(), grad_norm2);
    be.clip_by_norm(params.size(), params.grads(), grad_norm2, max_norm);  // nothing at max_norm 0
    if (optimizer) optimizer->step(params);
    be.sum_squares_into(params.size(), params.values(), param_norm2);
}

}  // namespace fusedrnn
