// The page-not-found page: only the shared shell.
import { startPage } from "../session.js";

startPage();
