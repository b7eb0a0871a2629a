"""forecastab."""
