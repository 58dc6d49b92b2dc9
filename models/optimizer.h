// fusedrnn — optimizers and gradient clipping over the flat parameter buffer.
// Each optimizer step is one backend call over the whole buffer (one fused kernel on the GPU).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fusedrnn/models/parameters.h"

namespace fusedrnn {

struct OptimizerConfig {
    std::string name = "adam";  // sgd | adam | adamw | rmsprop
    float lr = 1e-3f;
    float momentum = 0.0f;      // sgd
    float beta1 = 0.9f, beta2 = 0.999f;  // adam
    float alpha = 0.99f;        // rmsprop smoothing
    float eps = 1e-8f;          // adam, rmsprop
    float weight_decay = 0.0f;  // sgd, adam, rmsprop: L2 (added to the gradient); adamw: decoupled (p *= 1 − lr·wd,
                                // so lr·wd < 1). 0 for adamw too unless set: default_weight_decay("adamw") is 0.01
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    // Held by pointer (make_optimizer): assigning one kind's state to another (`*adam = *sgd`) sliced it (QA).
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;
    // One update of `params`, which must be the store the optimizer was made for (its state is per value of that
    // store: another model's would be read past its end, or updated with the wrong moments): else an Error.
    void step(ParamStore& params);
    // Whether `params` is the store this optimizer was made for (the same parameter buffer).
    bool made_for(const ParamStore& params) const;
    long steps() const { return steps_; }
    float lr() const { return config_.lr; }
    void set_lr(float lr);  // finite and >= 0 (a schedule may end at 0; adamw: lr x weight decay < 1), else an Error
    const OptimizerConfig& config() const { return config_; }

    // State for checkpoints: named host copies of the state buffers plus the step counter (>= 0). Every buffer must
    // be given, with one value per parameter, and nothing else.
    std::map<std::string, std::vector<float>> state_to_host() const;
    void state_from_host(const std::map<std::string, std::vector<float>>& state, long steps);

protected:
    Optimizer(const ParamStore& params, OptimizerConfig config, std::vector<std::string> state_names);
    Tensor<float>& state(size_t i) { return state_[i]; }
    virtual void apply(ParamStore& params) = 0;  // the update itself; step() has checked `params`

    OptimizerConfig config_;
    long steps_ = 0;

private:
    std::shared_ptr<Backend<float>> backend_;
    const float* values_;  // the parameter buffer of the store it was made for
    size_t size_;
    std::vector<std::string> state_names_;
    std::vector<Tensor<float>> state_;
};

// The weight decay the command line gives an optimizer when --weight-decay is not given: 0.01 for adamw
// (torch.optim.AdamW's default: decoupled decay is the point of choosing it), 0 for the others. OptimizerConfig's
// own is 0 whatever the name (QA: a program's adamw trained as Adam): a program sets weight_decay to this itself.
float default_weight_decay(const std::string& optimizer);

// Throws Error when `config` is no optimizer's: an unknown name (naming the accepted ones), or a setting out of its
// range for that optimizer (learning rate, weight decay, momentum, betas, alpha, eps). What make_optimizer checks,
// for a caller that wants to fail before it has a model.
void check_optimizer_config(const OptimizerConfig& config);

// Creates "sgd", "adam", "adamw" (Adam with decoupled weight decay, torch.optim.AdamW) or "rmsprop"; throws Error
// (check_optimizer_config) for a config that is no optimizer's.
std::unique_ptr<Optimizer> make_optimizer(const ParamStore& params, const OptimizerConfig& config);

// Global L2 norm of all gradients; when max_norm > 0 and the norm exceeds it, scales the gradients
// to norm max_norm (torch.nn.utils.clip_grad_norm_). Returns the norm before clipping. max_norm must be finite and
// >= 0 (0 = no clipping), else an Error. A NaN or Inf gradient makes the returned norm NaN or Inf: check it before
// step(), which, like torch's optimizers, applies whatever gradients it is given (the trainers stop on it).
double clip_grad_norm(ParamStore& params, double max_norm);

// The same and the optimizer step (if any), queued without waiting for the device: grad_norm2[0] = Σ g²
// before clipping and param_norm2[0] = Σ p² after the step, both left in backend memory (a training loop
// reads them back every so many steps; see models/device_scalars.h).
void queue_update(ParamStore& params, Optimizer* optimizer, double max_norm, double* grad_norm2,
                  double* param_norm2);

}  // namespace fusedrnn
