"""A linear calorimeter response model, response = w_e * energy + w_eta * |eta| + b, fitted by
full-batch gradient descent."""
from calotrain.state import TrainingState


class ResponseModel:
    def __init__(self):
        self.w_energy = 0.0
        self.w_eta = 0.0
        self.bias = 0.0

    def predict(self, energy, eta):
        return self.w_energy * energy + self.w_eta * eta + self.bias

    def fit_epoch(self, rows, learning_rate):
        """One pass over every row; the mean squared error goes into TrainingState."""
        n = len(rows)
        g_energy = g_eta = g_bias = 0.0
        for energy, eta, response in rows:
            err = self.predict(energy, eta) - response
            g_energy += 2 * err * energy / n
            g_eta += 2 * err * eta / n
            g_bias += 2 * err / n
        self.w_energy -= learning_rate * g_energy
        self.w_eta -= learning_rate * g_eta
        self.bias -= learning_rate * g_bias
        loss = sum((self.predict(e, eta) - r) ** 2 for e, eta, r in rows) / n
        TrainingState.record(loss)
        return loss

    def weights(self):
        return {
            "w_energy": round(self.w_energy, 9),
            "w_eta": round(self.w_eta, 9),
            "bias": round(self.bias, 9),
        }
