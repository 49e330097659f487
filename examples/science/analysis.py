"""Read a CSV with pandas, fit a scikit-learn model, plot with matplotlib: in WebAssembly.

Under Node (the repo root; the current folder is the runtime's too, so fit.png lands here):
    .venv/bin/pyodist python dist/pyodist-demo-0.1.0-science examples/science/analysis.py
In a browser (the console page runs it; the figure appears below the output):
    .venv/bin/pyodist serve dist/pyodist-demo-0.1.0-science \\
        --workdir examples/science --run examples/science/analysis.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: draw into images

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

# beside this file under Node; the console page's working folder in a browser
HERE = Path(__file__).parent if "__file__" in globals() else Path.cwd()

data = pd.read_csv(HERE / "measurements.csv")
print(f"{len(data)} measurements from {data['site'].nunique()} sites")
print(data.groupby("site")[["temperature_c", "yield_kg"]].mean().round(1).to_string())

features = ["temperature_c", "humidity_pct", "wind_ms"]
# one column per site (its own intercept), then ordinary least squares (SciPy's LAPACK)
X = pd.get_dummies(data[[*features, "site"]], columns=["site"], dtype=float)
train_X, test_X, train_y, test_y = train_test_split(X, data["yield_kg"], test_size=0.25,
                                                    random_state=0)
model = LinearRegression().fit(train_X, train_y)
predicted = model.predict(test_X)
print(f"R² on held-out days: {r2_score(test_y, predicted):.3f}")
for name, value in zip(X.columns, model.coef_, strict=True):
    print(f"  {name:>16}: {value:+.2f} kg per unit")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for site, group in data.groupby("site"):
    left.scatter(group["temperature_c"], group["yield_kg"], s=12, label=site)
left.set(xlabel="temperature (°C)", ylabel="yield (kg)", title="Yield by temperature")
left.legend()
right.scatter(test_y, predicted, s=12, color="tab:purple")
low, high = test_y.min(), test_y.max()
right.plot([low, high], [low, high], color="gray", linewidth=1)
right.set(xlabel="measured (kg)", ylabel="predicted (kg)", title="Held-out days")
fig.tight_layout()
fig.savefig("fit.png", dpi=100)
print("wrote fit.png")
